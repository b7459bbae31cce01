import CardCrypto
import APDU

/// What the card says in its INITIALIZE UPDATE response:
/// `KDD(10) ‖ KVN ‖ 03 ‖ i ‖ card challenge ‖ card cryptogram ‖ [sequence counter(3)]`.
public struct InitializeUpdateResponse: Equatable, Sendable {
    public let keyDiversificationData: [UInt8]
    public let keyVersion: UInt8
    public let scpIdentifier: UInt8
    public let options: SCP03Options
    public let cardChallenge: [UInt8]
    public let cardCryptogram: [UInt8]
    public let sequenceCounter: [UInt8]?

    public init(bytes: [UInt8], mode: ChallengeMode) throws {
        let base = 13 + 2 * mode.length
        guard bytes.count == base || bytes.count == base + 3 else {
            throw SecureChannelError.malformedInitializeUpdateResponse(
                length: bytes.count, expected: "\(base) or \(base + 3) in S\(mode.rawValue)")
        }
        keyDiversificationData = Array(bytes[0..<10])
        keyVersion = bytes[10]
        scpIdentifier = bytes[11]
        options = SCP03Options(bytes[12])
        cardChallenge = Array(bytes[13..<(13 + mode.length)])
        cardCryptogram = Array(bytes[(13 + mode.length)..<base])
        sequenceCounter = bytes.count == base + 3 ? Array(bytes[base...]) : nil
    }

    public init(keyDiversificationData: [UInt8], keyVersion: UInt8, options: SCP03Options,
                cardChallenge: [UInt8], cardCryptogram: [UInt8], sequenceCounter: [UInt8]?) {
        self.keyDiversificationData = keyDiversificationData
        self.keyVersion = keyVersion
        scpIdentifier = 0x03
        self.options = options
        self.cardChallenge = cardChallenge
        self.cardCryptogram = cardCryptogram
        self.sequenceCounter = sequenceCounter
    }

    public var bytes: [UInt8] {
        keyDiversificationData + [keyVersion, scpIdentifier, options.rawValue] + cardChallenge + cardCryptogram
            + (sequenceCounter ?? [])
    }
}

/// The cryptograms and the pseudo-random challenge, all KDF outputs.
public enum SCP03Cryptograms {
    public static func card(sessionMAC: SecretBytes, hostChallenge: [UInt8], cardChallenge: [UInt8],
                            mode: ChallengeMode) throws -> [UInt8] {
        try SCP03KDF.derive(key: sessionMAC, constant: .cardCryptogram, context: hostChallenge + cardChallenge,
                            bits: mode.bits)
    }

    public static func host(sessionMAC: SecretBytes, hostChallenge: [UInt8], cardChallenge: [UInt8],
                            mode: ChallengeMode) throws -> [UInt8] {
        try SCP03KDF.derive(key: sessionMAC, constant: .hostCryptogram, context: hostChallenge + cardChallenge,
                            bits: mode.bits)
    }

    /// The challenge a card with pseudo-random challenges (i b5) must give:
    /// KDF(Key-ENC, 02, sequence counter ‖ AID of the invoking application).
    public static func pseudoRandomCardChallenge(staticEncryption: SecretBytes, sequenceCounter: [UInt8],
                                                 applicationID: [UInt8], mode: ChallengeMode) throws -> [UInt8] {
        try SCP03KDF.derive(key: staticEncryption, constant: .cardChallenge,
                            context: sequenceCounter + applicationID, bits: mode.bits)
    }
}
