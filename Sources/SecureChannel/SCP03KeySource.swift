import CardCrypto

/// Who the card says it is, when it was read before the handshake: a key
/// table or a diversifying source may choose the card's keys by it.
public struct CardIdentity: Sendable, Hashable, Codable {
    /// EF.ICCID (2FE2) as digits.
    public var iccid: String?
    /// The PKCS#15 TokenInfo serial number, hex.
    public var pkcs15SerialNumber: String?

    public init(iccid: String? = nil, pkcs15SerialNumber: String? = nil) {
        self.iccid = iccid
        self.pkcs15SerialNumber = pkcs15SerialNumber
    }
}

/// What the card disclosed in its INITIALIZE UPDATE answer, and the
/// challenges of this session: everything a key source needs to pick the
/// card's static keys (by KVN, by diversification data, by identity) and
/// derive the session keys. It carries no secret.
public struct SCP03KeyRequest: Sendable {
    /// Key diversification data, 10 bytes (GlobalPlatform Card Spec. E.5.1.4).
    public let keyDiversificationData: [UInt8]
    /// The key version the card will use.
    public let keyVersion: UInt8
    /// The SCP identifier (03) and its i parameter.
    public let scpIdentifier: UInt8
    public let scpParameters: SCP03Options
    /// Present when the card uses pseudo-random challenges (i bit 5).
    public let sequenceCounter: [UInt8]?
    public let hostChallenge: [UInt8]
    public let cardChallenge: [UInt8]
    public let mode: ChallengeMode
    public let cardIdentity: CardIdentity?

    public init(initializeUpdate answer: InitializeUpdateResponse, hostChallenge: [UInt8], mode: ChallengeMode,
                cardIdentity: CardIdentity?) {
        keyDiversificationData = answer.keyDiversificationData
        keyVersion = answer.keyVersion
        scpIdentifier = answer.scpIdentifier
        scpParameters = answer.options
        sequenceCounter = answer.sequenceCounter
        self.hostChallenge = hostChallenge
        cardChallenge = answer.cardChallenge
        self.mode = mode
        self.cardIdentity = cardIdentity
    }
}

/// Where a card's SCP03 keys come from. The host asks after INITIALIZE
/// UPDATE and gets session keys back, so a static key never has to leave
/// its source: a PKCS#11 token can run the session-key KDF itself.
///
/// Implementations: `StaticKeySource` (key files, hex options, the
/// environment, the GlobalPlatform test keys); per-card tables,
/// diversification and tokens add their own.
public protocol SCP03KeySource: Sendable {
    /// The KVN sent in INITIALIZE UPDATE P1; 00 lets the card choose.
    var requestedKeyVersion: UInt8 { get }

    /// S-ENC, S-MAC and S-RMAC for this card and session.
    func sessionKeys(for request: SCP03KeyRequest) throws -> SCP03SessionKeys

    /// The card challenge a card with pseudo-random challenges must have
    /// sent: KDF(Key-ENC, 02, sequence counter ‖ AID) (GlobalPlatform
    /// Amendment D, card challenge). nil when the source cannot compute it
    /// (the host then reports the challenge as not checked).
    func pseudoRandomCardChallenge(for request: SCP03KeyRequest, applicationID: [UInt8]) throws -> [UInt8]?
}

/// Static keys held in memory (wiped on release), the same for every card.
public struct StaticKeySource: SCP03KeySource {
    public let keys: SCP03Keys

    public init(keys: SCP03Keys) {
        self.keys = keys
    }

    public var requestedKeyVersion: UInt8 { keys.version }

    public func sessionKeys(for request: SCP03KeyRequest) throws -> SCP03SessionKeys {
        try SCP03SessionKeys(deriving: keys, hostChallenge: request.hostChallenge, cardChallenge: request.cardChallenge)
    }

    public func pseudoRandomCardChallenge(for request: SCP03KeyRequest, applicationID: [UInt8]) throws -> [UInt8]? {
        guard let sequence = request.sequenceCounter else { return nil }
        return try SCP03Cryptograms.pseudoRandomCardChallenge(
            staticEncryption: keys.enc, sequenceCounter: sequence, applicationID: applicationID, mode: request.mode)
    }
}
