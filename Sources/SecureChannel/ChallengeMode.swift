/// S8 or S16 (Amendment D 1.1.2): the length of challenges, cryptograms and
/// MACs. S16 is announced by bit 1 of the card's i parameter.
public enum ChallengeMode: Int, Sendable, Codable {
    case s8 = 8
    case s16 = 16

    var length: Int { rawValue }
    var bits: Int { rawValue * 8 }
}

/// The i parameter of the key information: what the card's SCP03 offers.
public struct SCP03Options: Hashable, Sendable {
    public let rawValue: UInt8

    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public var challengeMode: ChallengeMode { rawValue & 0x01 != 0 ? .s16 : .s8 }
    public var pseudoRandomChallenge: Bool { rawValue & 0x10 != 0 }
    public var supportsResponseMAC: Bool { rawValue & 0x20 != 0 }
    public var supportsResponseEncryption: Bool { rawValue & 0x40 != 0 }

    /// Whether a card with these options can run a session at `level`.
    public func supports(_ level: SecurityLevel) -> Bool {
        (!level.hasResponseMAC || supportsResponseMAC) && (!level.hasResponseEncryption || supportsResponseEncryption)
    }
}
