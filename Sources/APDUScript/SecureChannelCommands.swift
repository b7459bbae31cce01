import APDU
import KeySources
import SecureChannel
import Synchronization

/// `scp03 open|close` on the current channel, with keys found the same way
/// dmboot finds them (one `KeySourceResolver` for both).
struct SecureChannelCommands {
    let connection: CardConnection
    let recorder: TranscriptRecorder
    /// Key source when the line names none (`--keys`).
    let keysFile: String?
    /// Diversify the keys for each card with KDF3 (`--diversify kdf3`).
    let diversifyKeys: Bool
    /// PKCS#11 URI of a key table's key-encryption key.
    let keyTableKEK: String?

    func open(level: String, keys: String?, testKeys: Bool) throws {
        let session = try connection.session()
        guard session.secure == nil else {
            throw ScriptFailure.invalidArgument("a secure channel is already open on channel \(connection.channelNumber); scp03 close first")
        }
        let warnings = Mutex<[String]>([])
        let loaded: ResolvedKeys
        do {
            loaded = try KeySourceResolver(warn: { message in warnings.withLock { $0.append(message) } })
                .resolve(KeyOptions(keys: testKeys ? nil : keys ?? keysFile, globalPlatformTestKeys: testKeys,
                                    diversification: diversifyKeys ? .kdf3 : nil, keyTableKEK: keyTableKEK))
        } catch KeyError.missing {
            // The resolver's own hint names dmboot's flags; say what works here.
            throw ScriptFailure.noKeys
        }
        warnings.withLock { $0 }.forEach(recorder.say)
        let host = SCP03Host(keySource: loaded.source, level: try SecurityLevel(text: level), mode: loaded.mode,
                             applicationID: session.location.application,
                             compatibility: loaded.compatibility)
        try connection.holdCard()
        let opened = try host.open(over: session.link)
        opened.onExchange = { [weak recorder] plain, wrapped, _, _ in
            recorder?.traced("   plain \(plain)  wrapped \(wrapped)")
        }
        session.secure = opened
        let answer = opened.handshake.initializeUpdate
        recorder.say("SCP03 open on channel \(connection.channelNumber): level \(opened.level), key version \(Hex.encode([answer.keyVersion])), i \(Hex.encode([answer.options.rawValue]))\(opened.handshake.pseudoRandomChallengeVerified ? ", pseudo-random challenge verified" : "")")
        opened.handshake.warnings.forEach { recorder.say("warning: \($0)") }
    }

    func close() throws {
        let session = try connection.session()
        guard session.secure != nil else {
            throw ScriptFailure.invalidArgument("no secure channel is open on channel \(connection.channelNumber)")
        }
        session.endSecureChannel()
        recorder.say("secure channel closed here; the card ends its session at the next SELECT of an application or reset")
    }
}
