import APDU
import CardTransport
import CardCrypto

/// Opens an SCP03 session from the host: INITIALIZE UPDATE, every check of
/// the card's answer, then EXTERNAL AUTHENTICATE. Nothing after INITIALIZE
/// UPDATE is sent unless the card proved it holds the static keys, and a
/// refused EXTERNAL AUTHENTICATE is never retried (cards block their keys).
public struct SCP03Host: Sendable {
    /// Asked for the session keys once the card has answered INITIALIZE UPDATE.
    public var keySource: any SCP03KeySource
    public var level: SecurityLevel
    public var mode: ChallengeMode
    /// Logical channel the session runs on (the CR's note 1: CLA 80-83).
    public var channel: LogicalChannel
    /// AID of the application that invokes the secure channel, to check a
    /// pseudo-random card challenge. `nil` skips that check.
    public var applicationID: [UInt8]?
    public var compatibility: SCP03Compatibility
    /// Passed to the key source, when the card was identified before the handshake.
    public var cardIdentity: CardIdentity?
    /// Whether a pseudo-random challenge that does not match ends the
    /// handshake. Off by default: GlobalPlatformPro's GPSession only warns,
    /// since the AID a card feeds its KDF is not always the one selected
    /// (a right-truncated SELECT, an AID the FCI does not report), and the
    /// card cryptogram still authenticates the card.
    public var requiresChallengeMatch = false

    public init(keySource: any SCP03KeySource, level: SecurityLevel = .full, mode: ChallengeMode = .s8,
                channel: LogicalChannel = .basic, applicationID: [UInt8]? = nil,
                compatibility: SCP03Compatibility = [], cardIdentity: CardIdentity? = nil) {
        self.keySource = keySource
        self.cardIdentity = cardIdentity
        self.level = level
        self.mode = mode
        self.channel = channel
        self.applicationID = applicationID
        self.compatibility = compatibility
    }

    /// A host with static keys in memory.
    public init(keys: SCP03Keys, level: SecurityLevel = .full, mode: ChallengeMode = .s8,
                channel: LogicalChannel = .basic, applicationID: [UInt8]? = nil,
                compatibility: SCP03Compatibility = []) {
        self.init(keySource: StaticKeySource(keys: keys), level: level, mode: mode, channel: channel,
                  applicationID: applicationID, compatibility: compatibility)
    }

    /// What the handshake learned, for reports; no secret in it.
    public struct Handshake: Sendable {
        public let initializeUpdate: InitializeUpdateResponse
        public let level: SecurityLevel
        public let pseudoRandomChallenge: ChallengeCheck

        public var pseudoRandomChallengeVerified: Bool { pseudoRandomChallenge == .verified }

        /// What a person should hear about, though the session is open.
        public var warnings: [String] {
            pseudoRandomChallenge == .mismatch
                ? ["the card's pseudo-random challenge does not match the one computed from Key-ENC, its sequence counter and the application's AID; the card may use another AID, or Key-ENC is wrong"]
                : []
        }
    }

    /// The outcome of checking a pseudo-random card challenge.
    public enum ChallengeCheck: String, Sendable {
        case verified, mismatch
        /// The card's challenges are random, or no AID was known.
        case unchecked = "not-checked"
    }

    /// The INITIALIZE UPDATE command for `hostChallenge`.
    public func initializeUpdateCommand(hostChallenge: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: channel.encode(cla: 0x80), ins: 0x50, p1: keySource.requestedKeyVersion, p2: 0x00,
                    data: hostChallenge, expectedLength: 256)
    }

    /// Runs the handshake over `inner`. `hostChallenge` is drawn from
    /// OpenSSL's generator; tests pass the one a recorded session used.
    public func open(over inner: CardChannel, hostChallenge: [UInt8]? = nil) throws -> SecureCardChannel {
        let challenge = try hostChallenge ?? Secure.randomBytes(mode.length)
        let response = try inner.transmit(initializeUpdateCommand(hostChallenge: challenge))
        if response.status == StatusWord(0x6700) { throw SecureChannelError.challengeLengthRefused(hostMode: mode.length) }
        guard response.status == .success else { throw SecureChannelError.initializeUpdateFailed(response.status) }
        let (protection, handshake, authenticate) = try verify(initializeUpdate: response.data, hostChallenge: challenge)
        let answer = try inner.transmit(authenticate)
        guard answer.status == .success else {
            protection.close()
            throw SecureChannelError.externalAuthenticateRefused(answer.status)
        }
        return SecureCardChannel(inner: inner, protection: protection, handshake: handshake)
    }

    /// Checks the card's INITIALIZE UPDATE answer and, when it holds, derives
    /// the session and builds EXTERNAL AUTHENTICATE. Split from `open` so
    /// recorded sessions can be replayed step by step.
    public func verify(initializeUpdate bytes: [UInt8], hostChallenge: [UInt8]) throws
        -> (SCP03MessageProtection, Handshake, CommandAPDU) {
        let card = try InitializeUpdateResponse(bytes: bytes, mode: mode)
        guard card.scpIdentifier == 0x03 else { throw SecureChannelError.notSCP03(scpIdentifier: card.scpIdentifier) }
        let requested = keySource.requestedKeyVersion
        if requested != 0x00 && card.keyVersion != requested {
            throw SecureChannelError.keyVersionMismatch(requested: requested, card: card.keyVersion)
        }
        guard card.options.challengeMode == mode else {
            throw SecureChannelError.challengeModeMismatch(host: mode.rawValue, card: card.options.challengeMode.rawValue)
        }
        guard card.options.supports(level) else {
            throw SecureChannelError.capabilityMissing(level: level, iParameter: card.options.rawValue)
        }
        let request = SCP03KeyRequest(initializeUpdate: card, hostChallenge: hostChallenge, mode: mode,
                                      cardIdentity: cardIdentity)
        var challengeCheck = ChallengeCheck.unchecked
        if card.options.pseudoRandomChallenge, let applicationID {
            guard card.sequenceCounter != nil else {
                throw SecureChannelError.malformedInitializeUpdateResponse(
                    length: bytes.count, expected: "a sequence counter, as the i parameter announces pseudo-random challenges")
            }
            if let expected = try keySource.pseudoRandomCardChallenge(for: request, applicationID: applicationID) {
                challengeCheck = Secure.constantTimeEquals(expected, card.cardChallenge) ? .verified : .mismatch
                if challengeCheck == .mismatch && requiresChallengeMatch { throw SecureChannelError.cardChallengeMismatch }
            }
        }
        let session = try keySource.sessionKeys(for: request)
        let cardCryptogram = try SCP03Cryptograms.card(sessionMAC: session.mac, hostChallenge: hostChallenge,
                                                       cardChallenge: card.cardChallenge, mode: mode)
        guard Secure.constantTimeEquals(cardCryptogram, card.cardCryptogram) else {
            session.wipe()
            throw SecureChannelError.cardCryptogramMismatch
        }
        let hostCryptogram = try SCP03Cryptograms.host(sessionMAC: session.mac, hostChallenge: hostChallenge,
                                                       cardChallenge: card.cardChallenge, mode: mode)
        // EXTERNAL AUTHENTICATE is MACed from a zero chaining value and is
        // itself never encrypted, so it goes through a C-MAC-only protection.
        let authenticator = SCP03MessageProtection(keys: session, level: try SecurityLevel(0x01), mode: mode,
                                                   chainingValue: [UInt8](repeating: 0, count: 16))
        let authenticate = try authenticator.wrap(
            CommandAPDU(cla: channel.encode(cla: 0x80), ins: 0x82, p1: level.rawValue, p2: 0x00, data: hostCryptogram))
        let protection = SCP03MessageProtection(keys: session, level: level, mode: mode,
                                                chainingValue: authenticator.chainingValue,
                                                compatibility: compatibility)
        return (protection, Handshake(initializeUpdate: card, level: level,
                                      pseudoRandomChallenge: challengeCheck), authenticate)
    }
}

/// A `CardChannel` whose every command is wrapped and every response
/// unwrapped by an open SCP03 session. It changes nothing else: 61xx and 6Cxx
/// stay with the channel below, so the R-MAC always covers a whole response.
public final class SecureCardChannel: CardChannel {
    public let inner: CardChannel
    public let protection: SCP03MessageProtection
    public let handshake: SCP03Host.Handshake
    /// Called with the plain and the wire form of each exchange, for traces.
    public var onExchange: ((CommandAPDU, CommandAPDU, ResponseAPDU, ResponseAPDU) -> Void)?
    /// Whether the card takes extended-length APDUs. Without them a command
    /// that does not fit a short APDU once protected is refused, never sent.
    public var allowsExtendedLength = false

    init(inner: CardChannel, protection: SCP03MessageProtection, handshake: SCP03Host.Handshake) {
        self.inner = inner
        self.protection = protection
        self.handshake = handshake
    }

    public var level: SecurityLevel { protection.level }

    /// The most plain data one command can carry: 239 at level 33 in a short APDU.
    public var maxCommandData: Int { protection.maxCommandData(extendedLength: allowsExtendedLength) }
    /// The most plain data one response can bring back: 239 under R-ENCRYPTION in a short APDU.
    public var maxResponseData: Int { protection.maxResponseData(extendedLength: allowsExtendedLength) }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        guard command.data.count <= maxCommandData else {
            throw SecureChannelError.commandTooLong(plain: command.data.count, limit: maxCommandData)
        }
        if let ne = command.expectedLength, ne > maxResponseData, ne != 256 || allowsExtendedLength {
            throw SecureChannelError.expectedLengthTooLong(asked: ne, limit: maxResponseData)
        }
        let reads = Self.isReadBinary(command) && command.expectedLength != nil
        var wireLength = reads ? readLength : nil
        var answer = try exchange(command, wireLength: wireLength)
        // A READ BINARY whose protected answer did not fit: ask again in a new
        // command (its MAC chains on and its counter moved, so the old bytes
        // would be refused), with the Le of 6Cxx, else EF, then halving.
        while reads, let next = Self.smallerLength(after: answer.status, wireLength: wireLength,
                                                    shortRoom: protection.maxResponseData(extendedLength: false)) {
            wireLength = next
            readLength = next
            lengthRecoveries += 1
            answer = try exchange(command, wireLength: next)
        }
        return answer
    }

    /// The wire Le that READ BINARY uses once a recovery chose one; `nil`
    /// (Le 00) until then. It stays for the session, and a session opened
    /// again after a recovery starts from it.
    public var readLength: Int?
    /// New commands sent because a protected answer did not fit.
    public private(set) var lengthRecoveries = 0

    private func exchange(_ command: CommandAPDU, wireLength: Int?) throws -> ResponseAPDU {
        var plainCommand = command
        if let wireLength, let ne = command.expectedLength { plainCommand.expectedLength = min(ne, wireLength) }
        let wrapped = try protection.wrap(plainCommand, extendedLength: allowsExtendedLength, wireExpectedLength: wireLength)
        let wire = try inner.transmit(wrapped)
        var plain = try protection.unwrap(wire)
        // The wire asked Le 00: the card may send more than the plain Ne.
        if let ne = plainCommand.expectedLength, plain.data.count > ne { plain.data.removeLast(plain.data.count - ne) }
        onExchange?(plainCommand, wrapped, wire, plain)
        return plain
    }

    static func isReadBinary(_ command: CommandAPDU) -> Bool { command.ins == 0xB0 || command.ins == 0xB1 }

    /// The next wire Le after `status`, or `nil` when `status` is no length
    /// refusal or the lengths are used up. An applet decides how many plain
    /// bytes it reads (on Java Card a short Le 00 is Ne 256), so one that
    /// reads what the wire asks cannot wrap 256 bytes into a short answer and
    /// says 6700 or 6F00, or 6Cxx with the Le it can serve (ISO/IEC 7816-4
    /// Annex A, cases 2S.2 and 2S.3). Sixteen bytes, one AES block, is the floor.
    static func smallerLength(after status: StatusWord, wireLength: Int?, shortRoom: Int) -> Int? {
        if status.sw1 == 0x6C, status.sw2 != 0, Int(status.sw2) != wireLength { return Int(status.sw2) }
        guard status == StatusWord(0x6700) || status == StatusWord(0x6F00) || status.sw1 == 0x6C else { return nil }
        guard let wireLength else { return shortRoom }
        let half = wireLength / 2
        return half >= 16 ? half : nil
    }

    /// Ends the session; later transmits fail with `sessionClosed`.
    public func close() {
        protection.close()
    }
}
