import APDU
import CardCrypto
import SecureChannel

/// The card's half of SCP03, as a security domain implements it: answers
/// INITIALIZE UPDATE, checks EXTERNAL AUTHENTICATE, counts failed
/// authentications until the keys block, and then opens each protected
/// command and protects each response. The virtual card uses it; so do the
/// card-side replays of the known-answer vectors. It lives with the simulator,
/// not in SecureChannel, so that a host binary carries no card side.
public final class SCP03CardEndpoint {
    public struct Configuration {
        public var keys: SCP03Keys
        public var options: SCP03Options
        public var keyDiversificationData: [UInt8]
        /// The 3-byte sequence counter of pseudo-random challenges; incremented before use.
        public var sequenceCounter: UInt32
        /// Failed EXTERNAL AUTHENTICATEs after which the keys are blocked (6983).
        public var maxFailedAuthentications: Int
        /// A fixed card challenge, to replay a recorded session. `nil`: pseudo-random
        /// when the options say so, otherwise random.
        public var fixedCardChallenge: [UInt8]?
        /// How this card departs from Amendment D (a card personality's quirks).
        public var compatibility: SCP03Compatibility

        public init(keys: SCP03Keys, options: SCP03Options, keyDiversificationData: [UInt8] = [UInt8](repeating: 0, count: 10),
                    sequenceCounter: UInt32 = 0, maxFailedAuthentications: Int = 3, fixedCardChallenge: [UInt8]? = nil,
                    compatibility: SCP03Compatibility = []) {
            self.compatibility = compatibility
            self.keys = keys
            self.options = options
            self.keyDiversificationData = keyDiversificationData
            self.sequenceCounter = sequenceCounter
            self.maxFailedAuthentications = maxFailedAuthentications
            self.fixedCardChallenge = fixedCardChallenge
        }
    }

    public internal(set) var configuration: Configuration
    public private(set) var failedAuthentications = 0
    /// The open session after a successful EXTERNAL AUTHENTICATE.
    public private(set) var session: SCP03MessageProtection?
    private var pending: (keys: SCP03SessionKeys, hostChallenge: [UInt8], cardChallenge: [UInt8])?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var isBlocked: Bool { failedAuthentications >= configuration.maxFailedAuthentications }
    var mode: ChallengeMode { configuration.options.challengeMode }

    /// Ends any session, as a reset, a new INITIALIZE UPDATE or a deselect does.
    public func endSession() {
        session?.close()
        session = nil
        pending = nil
    }

    /// INITIALIZE UPDATE from the application whose AID is `applicationID`.
    public func initializeUpdate(_ command: CommandAPDU, applicationID: [UInt8]) -> ResponseAPDU {
        endSession()
        if isBlocked { return ResponseAPDU(status: StatusWord(0x6983)) }
        guard command.p1 == 0x00 || command.p1 == configuration.keys.version else {
            return ResponseAPDU(status: StatusWord(0x6A88))
        }
        guard command.data.count == mode.rawValue else { return ResponseAPDU(status: StatusWord(0x6700)) }
        do {
            var sequence: [UInt8]? = nil
            let cardChallenge: [UInt8]
            if configuration.options.pseudoRandomChallenge {
                configuration.sequenceCounter = (configuration.sequenceCounter + 1) & 0xFF_FFFF
                let counter = configuration.sequenceCounter
                sequence = [UInt8(counter >> 16), UInt8((counter >> 8) & 0xFF), UInt8(counter & 0xFF)]
            }
            if let fixed = configuration.fixedCardChallenge {
                cardChallenge = fixed
            } else if let sequence {
                cardChallenge = try SCP03Cryptograms.pseudoRandomCardChallenge(
                    staticEncryption: configuration.keys.enc, sequenceCounter: sequence,
                    applicationID: applicationID, mode: mode)
            } else {
                cardChallenge = try Secure.randomBytes(mode.rawValue)
            }
            let keys = try SCP03SessionKeys(deriving: configuration.keys, hostChallenge: command.data, cardChallenge: cardChallenge)
            let cryptogram = try SCP03Cryptograms.card(sessionMAC: keys.mac, hostChallenge: command.data,
                                                       cardChallenge: cardChallenge, mode: mode)
            pending = (keys, command.data, cardChallenge)
            let answer = InitializeUpdateResponse(
                keyDiversificationData: configuration.keyDiversificationData, keyVersion: configuration.keys.version,
                options: configuration.options, cardChallenge: cardChallenge, cardCryptogram: cryptogram,
                sequenceCounter: sequence)
            return ResponseAPDU(data: answer.bytes, status: .success)
        } catch {
            return ResponseAPDU(status: StatusWord(0x6F00))
        }
    }

    /// EXTERNAL AUTHENTICATE: C-MAC from a zero chaining value, then the host cryptogram.
    public func externalAuthenticate(_ command: CommandAPDU, extendedLength: Bool) -> ResponseAPDU {
        guard let pending else { return ResponseAPDU(status: StatusWord(0x6985)) }
        self.pending = nil
        if isBlocked { return ResponseAPDU(status: StatusWord(0x6983)) }
        guard let level = try? SecurityLevel(command.p1), configuration.options.supports(level) else {
            return ResponseAPDU(status: StatusWord(0x6A86))
        }
        do {
            let verifier = SCP03MessageProtection(keys: pending.keys, level: try SecurityLevel(SecurityLevel.commandMAC),
                                                  mode: mode, chainingValue: [UInt8](repeating: 0, count: 16))
            let plain = try verifier.unwrapCommand(command, extendedLength: extendedLength)
            let expected = try SCP03Cryptograms.host(sessionMAC: pending.keys.mac, hostChallenge: pending.hostChallenge,
                                                     cardChallenge: pending.cardChallenge, mode: mode)
            guard Secure.constantTimeEquals(plain.data, expected) else {
                failedAuthentications += 1
                return ResponseAPDU(status: StatusWord(0x6300))
            }
            failedAuthentications = 0
            session = SCP03MessageProtection(keys: pending.keys, level: level, mode: mode,
                                             chainingValue: verifier.chainingValue,
                                             compatibility: configuration.compatibility)
            return ResponseAPDU(status: .success)
        } catch {
            failedAuthentications += 1
            return ResponseAPDU(status: StatusWord(0x6982))
        }
    }
}
