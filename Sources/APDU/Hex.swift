/// Hex text is how engineers read and type APDUs, so parsing is lenient about
/// spaces and case but strict about anything else.
public enum Hex {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case oddNumberOfDigits(Int)
        case invalidCharacter(Character, position: Int)

        public var description: String {
            switch self {
            case .oddNumberOfDigits(let count):
                return "hex text has \(count) digits; bytes need an even number"
            case .invalidCharacter(let character, let position):
                return "'\(character)' at position \(position) is not a hex digit"
            }
        }
    }

    /// Decodes hex digits, ignoring white space and colons between them.
    public static func decode(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var pending: UInt8? = nil
        var digits = 0
        for (position, character) in text.enumerated() {
            if character.isWhitespace || character == ":" { continue }
            // ASCII only: Character.hexDigitValue also takes fullwidth digits (U+FF10...).
            guard character.isASCII, let value = character.hexDigitValue else {
                throw ParseError.invalidCharacter(character, position: position)
            }
            digits += 1
            if let high = pending {
                bytes.append(high << 4 | UInt8(value))
                pending = nil
            } else {
                pending = UInt8(value)
            }
        }
        guard pending == nil else { throw ParseError.oddNumberOfDigits(digits) }
        return bytes
    }

    private static let digits = Array("0123456789ABCDEF".utf8)

    /// Upper-case hex with no separators, or with `separator` between bytes.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes, separator: String = "") -> String
    where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        let separatorBytes = Array(separator.utf8)
        for (index, byte) in bytes.enumerated() {
            if index > 0 { out.append(contentsOf: separatorBytes) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Decodes hex, trapping on bad input: for literals in code and tests only.
    public init(hex: String) {
        do {
            self = try Hex.decode(hex)
        } catch {
            preconditionFailure("invalid hex literal \"\(hex)\": \(error)")
        }
    }

    public var hexString: String { Hex.encode(self) }
}
