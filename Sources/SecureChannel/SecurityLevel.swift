/// The protection EXTERNAL AUTHENTICATE asks for (its P1). Each bit is one
/// protection; only the combinations GlobalPlatform allows exist as values.
public struct SecurityLevel: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public static let commandMAC: UInt8 = 0x01
    public static let commandDecryption: UInt8 = 0x02
    public static let responseMAC: UInt8 = 0x10
    public static let responseEncryption: UInt8 = 0x20

    /// Levels this implementation accepts: 00, 01, 03, 11, 13, 31, 33.
    public static let allowed: [UInt8] = [0x00, 0x01, 0x03, 0x11, 0x13, 0x31, 0x33]
    /// C-DECRYPTION, R-ENCRYPTION, C-MAC and R-MAC: what the OMA DM CR asks for.
    public static let full = SecurityLevel(uncheckedRawValue: 0x33)

    public init(_ rawValue: UInt8) throws {
        guard Self.allowed.contains(rawValue) else { throw SecureChannelError.unsupportedSecurityLevel(rawValue) }
        self.rawValue = rawValue
    }

    init(uncheckedRawValue: UInt8) { rawValue = uncheckedRawValue }

    /// Parses "33", "0x33" or "33h" as hex.
    public init(text: String) throws {
        var digits = text.lowercased()
        if digits.hasPrefix("0x") { digits.removeFirst(2) }
        if digits.hasSuffix("h") { digits.removeLast() }
        guard digits.count <= 2, let value = UInt8(digits, radix: 16) else {
            throw SecureChannelError.unparsableSecurityLevel(text)
        }
        try self.init(value)
    }

    public var hasCommandMAC: Bool { rawValue & Self.commandMAC != 0 }
    public var hasCommandDecryption: Bool { rawValue & Self.commandDecryption != 0 }
    public var hasResponseMAC: Bool { rawValue & Self.responseMAC != 0 }
    public var hasResponseEncryption: Bool { rawValue & Self.responseEncryption != 0 }

    /// Whether this level gives at least every protection of `other`.
    public func covers(_ other: SecurityLevel) -> Bool { rawValue & other.rawValue == other.rawValue }

    public var hex: String { String(format2: rawValue) }

    public var description: String {
        var parts: [String] = []
        if hasCommandDecryption { parts.append("C-DECRYPTION") }
        if hasResponseEncryption { parts.append("R-ENCRYPTION") }
        if hasCommandMAC { parts.append("C-MAC") }
        if hasResponseMAC { parts.append("R-MAC") }
        return "\(hex) (\(parts.isEmpty ? "no secure messaging" : parts.joined(separator: ", ")))"
    }
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789ABCDEF")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
