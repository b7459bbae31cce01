import APDU
import CardTransport

/// `keys`, `cplc` and `status`: what the security domain tells about its
/// keys, the card's production and its registry.
struct SecurityDomainCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let recorder: TranscriptRecorder
    /// `status` opens one when the card wants a secure channel for GET STATUS.
    let secureChannel: SecureChannelCommands

    /// GET DATA 00E0, so an engineer sees which key version the card holds before `scp03 open`.
    func keyInformation() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x00, p2: 0xE0, expectedLength: 256)
        let response = try exchanger.exchange(command, expect: nil)
        exchanger.lastKind = .kit
        guard response.status == .success else {
            throw CardStatusError("GET DATA 00E0 (Key Information Template)", response.status)
        }
        let keys = try KeyInformation.parseTemplate(response.data)
        if keys.isEmpty { recorder.say("the security domain lists no keys") }
        for key in keys { recorder.say("  \(key.summary)") }
        let versions = Set(keys.map(\.version)).sorted().map { Hex.encode([$0]) }
        if !versions.isEmpty { recorder.say("key versions: \(versions.joined(separator: ", ")) (scp03 open needs a key file with one of them)") }
    }

    func productionLifeCycle() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x9F, p2: 0x7F, expectedLength: 256)
        let response = try exchanger.exchange(command, expect: nil)
        exchanger.lastKind = .cplc
        guard response.status == .success else { throw CardStatusError("GET DATA 9F7F (CPLC)", response.status) }
        for text in try CPLC(bytes: response.data).lines { recorder.say("  \(text)") }
    }

    /// GET STATUS for the ISD, then applications and security domains, then
    /// load files, in the tagged format; over SCP03 when the card asks for it.
    /// Only the ISD answers GET STATUS, so it is selected first unless the
    /// channel is in it already (which keeps a secure channel opened there).
    func registryStatus() throws {
        let session = try connection.session()
        if session.location.dfNames != [IssuerSecurityDomain.name] {
            if session.secure != nil {
                recorder.say("(selecting the issuer security domain ends the secure channel session)")
                session.endSecureChannel()
            }
            let aid = try IssuerSecurityDomain.select(over: session.link) { command, response in
                exchanger.report(command, response)
            }
            session.enterApplication(aid, name: IssuerSecurityDomain.name)
        }
        for p1: UInt8 in [0x80, 0x40, 0x20] {
            var p2: UInt8 = 0x02
            var collected: [UInt8] = []
            while true {
                let command = CommandAPDU(cla: 0x80, ins: 0xF2, p1: p1, p2: p2, data: [0x4F, 0x00], expectedLength: 256)
                var response = try session.transport.transmit(command)
                if response.status == StatusWord(0x6982) && session.secure == nil {
                    exchanger.report(command, response)
                    // C-MAC only: the registry is not secret, and every SCP03 card supports level 01.
                    recorder.say("(GET STATUS needs a secure channel; opening SCP03 at level 01 with the configured keys)")
                    try secureChannel.open(level: "01", keys: nil, testKeys: false)
                    response = try session.transport.transmit(command)
                }
                exchanger.report(command, response)
                exchanger.remember(response)
                exchanger.lastKind = .status
                if response.status == StatusWord(0x6A88) || response.status == StatusWord(0x6A86) && p1 != 0x80 { break }
                guard response.status == .success || response.status == StatusWord(0x6310) else {
                    throw CardStatusError("GET STATUS \(Hex.encode([p1]))", response.status)
                }
                guard !exchanger.isSensitive(response.data) else {
                    recorder.say("  (the card encrypted the registry; --reveal-secrets shows it)")
                    break
                }
                collected += response.data
                if response.status != StatusWord(0x6310) { break }
                p2 |= 0x01
            }
            guard !collected.isEmpty else { continue }
            for text in try RegistryEntry.parse(collected, p1: p1).flatMap(\.lines) { recorder.say(text) }
        }
    }
}
