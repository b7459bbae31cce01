import APDU

/// An expected status: four hex digits where X or ? stands for any digit,
/// alternatives joined with | ("9000", "61XX", "9000|6282").
public struct StatusPattern: Equatable, Sendable, CustomStringConvertible {
    public let alternatives: [String]

    public init(_ text: String) throws {
        let parts = text.uppercased().split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty else { throw PatternError(text: text) }
        for part in parts {
            guard part.count == 4, part.allSatisfy({ $0.isHexDigit || $0 == "X" || $0 == "?" }) else {
                throw PatternError(text: text)
            }
        }
        alternatives = parts
    }

    public func matches(_ status: StatusWord) -> Bool {
        let actual = Array(status.hex)
        return alternatives.contains { pattern in
            zip(pattern, actual).allSatisfy { expected, digit in expected == "X" || expected == "?" || expected == digit }
        }
    }

    public var description: String { alternatives.joined(separator: "|") }

    public struct PatternError: Error, Equatable, CustomStringConvertible {
        public let text: String
        public var description: String {
            "\"\(text)\" is not a status pattern: four hex digits, X or ? for any digit, alternatives joined by |"
        }
    }
}
