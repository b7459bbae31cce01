import APDU
import CardCrypto
import CardTransport
import SecureChannel

/// Moves one card from its current SCP03 key set to a new one: SELECT the
/// issuer security domain, open SCP03 with the current keys, PUT KEY the new
/// set (`SCP03PutKey`), check the KCVs the card answers, and open a new
/// session with the new keys before calling it done. When anything fails
/// after PUT KEY was sent, the card is asked which set it holds: a session
/// is opened with the new keys, then the old; EXTERNAL AUTHENTICATE is only
/// sent once the card's cryptogram proved the keys, so no guess costs a try.
public struct KeyRotation {
    /// GlobalPlatform's default ISD AID (GlobalPlatformPro `GPData.defaultISDBytes`).
    public static let issuerSecurityDomainAID: [UInt8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]

    /// Which key set a card was found to hold.
    public enum Holding: String, Sendable, Encodable {
        case old, new, unknown
    }

    /// What happened, for the report and the log; KCVs, never keys.
    public struct Outcome: Sendable {
        public var keyDiversificationData: [UInt8] = []
        public var oldKeyVersion: UInt8?
        public var newKeyVersion: UInt8?
        public var oldCheckValues: [StaticKeyRole: [UInt8]] = [:]
        public var newCheckValues: [StaticKeyRole: [UInt8]] = [:]
        public var holding: Holding = .old
        public var failure: Error?
    }

    /// The card's keys before, and the key set it gets, both in host memory:
    /// the DEK encrypts the new keys, and the new keys are encrypted whole.
    public struct Keys {
        public let currentSource: any SCP03KeySource
        public let current: ([UInt8]) throws -> SCP03Keys
        public let next: ([UInt8]) throws -> SCP03Keys

        public init(currentSource: any SCP03KeySource, current: @escaping ([UInt8]) throws -> SCP03Keys,
                    next: @escaping ([UInt8]) throws -> SCP03Keys) {
            self.currentSource = currentSource
            self.current = current
            self.next = next
        }
    }

    public let level: SecurityLevel
    public let mode: ChallengeMode
    public let compatibility: SCP03Compatibility

    public init(level: SecurityLevel, mode: ChallengeMode, compatibility: SCP03Compatibility = []) {
        self.level = level
        self.mode = mode
        self.compatibility = compatibility
    }

    /// Rotates the card behind `channel`; the outcome says what it holds, also when it failed.
    public func rotate(over channel: CardChannel, keys: Keys) -> Outcome {
        var outcome = Outcome()
        var sent = false
        var newKeys: SCP03Keys?
        defer { newKeys?.wipe() }
        do {
            let session = try open(channel, source: keys.currentSource)
            let kdd = session.handshake.initializeUpdate.keyDiversificationData
            outcome.keyDiversificationData = kdd
            outcome.oldKeyVersion = session.handshake.initializeUpdate.keyVersion
            let old = try keys.current(kdd)
            defer { old.wipe() }
            outcome.oldCheckValues = try Self.checkValues(old)
            let next = try keys.next(kdd)
            newKeys = next
            outcome.newKeyVersion = next.version
            outcome.newCheckValues = try Self.checkValues(next)
            guard next.version != old.version else { throw KeyRotationError.sameVersion(next.version) }
            let command = try SCP03PutKey.command(newKeys: next, replacing: old.version, dek: old.dek)
            sent = true
            let answer = try session.transmit(command)
            guard answer.status == .success else { throw KeyRotationError.refused(answer.status) }
            guard Secure.constantTimeEquals(answer.data, try SCP03PutKey.expectedResponse(next)) else {
                throw KeyRotationError.checkValuesDiffer(Hex.encode(answer.data))
            }
            session.close()
            do {
                _ = try open(channel, source: StaticKeySource(keys: next.copy())).close()
            } catch {
                throw KeyRotationError.newKeysDoNotOpen("\(error)")
            }
            outcome.holding = .new
        } catch {
            outcome.failure = error
            if sent, let newKeys { outcome.holding = probe(channel, newKeys: newKeys, currentSource: keys.currentSource) }
        }
        return outcome
    }

    /// Which key set opens a session now (new first, since PUT KEY was sent).
    private func probe(_ channel: CardChannel, newKeys: SCP03Keys, currentSource: any SCP03KeySource) -> Holding {
        if let copy = try? newKeys.copy(), (try? open(channel, source: StaticKeySource(keys: copy)).close()) != nil { return .new }
        if (try? open(channel, source: currentSource).close()) != nil { return .old }
        return .unknown
    }

    private func open(_ channel: CardChannel, source: any SCP03KeySource) throws -> SecureCardChannel {
        let selected = try channel.selectApplication(Self.issuerSecurityDomainAID, order: [.fci, .fcp, .none])
        guard selected.status == .success || selected.status.isWarning else {
            throw CardStatusError("SELECT of the issuer security domain", selected.status)
        }
        return try SCP03Host(keySource: source, level: level, mode: mode, applicationID: Self.issuerSecurityDomainAID,
                             compatibility: compatibility).open(over: channel)
    }

    static func checkValues(_ keys: SCP03Keys) throws -> [StaticKeyRole: [UInt8]] {
        Dictionary(uniqueKeysWithValues: try StaticKeyRole.allCases.map { ($0, try KeyCheckValue.aes(keys.key($0))) })
    }
}

public enum KeyRotationError: Error, Equatable, CustomStringConvertible {
    /// The card refused PUT KEY.
    case refused(StatusWord)
    /// The card's answer is not the new version and KCVs.
    case checkValuesDiffer(String)
    /// PUT KEY was taken, but no session opens with the new keys.
    case newKeysDoNotOpen(String)
    /// The new key set has the version of the one it replaces.
    case sameVersion(UInt8)

    public var description: String {
        switch self {
        case .refused(let status): return "the card refused PUT KEY with \(status)"
        case .checkValuesDiffer(let answer): return "the card answered PUT KEY with \(answer), not the new version and KCVs"
        case .newKeysDoNotOpen(let reason): return "PUT KEY was taken but the new keys do not open a session: \(reason)"
        case .sameVersion(let version):
            return "the new keys have version \(Hex.encode([version])), the version they replace; give them another"
        }
    }
}
