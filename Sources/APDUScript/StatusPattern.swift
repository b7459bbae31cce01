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

/// What `if response ~ PATTERN` matches: the response data in hex, where X or
/// ? stands for any hex digit and * for any run of digits (so "6F*" means
/// "starts with 6F"). Matching is anchored at both ends and linear in time.
public struct ResponsePattern: Equatable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) throws {
        let cleaned = text.uppercased().filter { !$0.isWhitespace }
        guard !cleaned.isEmpty, cleaned.allSatisfy({ $0.isHexDigit || $0 == "X" || $0 == "?" || $0 == "*" }) else {
            throw PatternError(text: text)
        }
        self.text = cleaned
    }

    /// Glob matching with one backtrack point per star: O(pattern × data).
    public func matches(_ data: [UInt8]) -> Bool {
        let subject = Array(Hex.encode(data))
        let pattern = Array(text)
        var p = 0, s = 0
        var star: Int?, resume = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "X" || pattern[p] == "?" || pattern[p] == subject[s] {
                p += 1
                s += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = s
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                s = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    public var description: String { text }

    public struct PatternError: Error, Equatable, CustomStringConvertible {
        public let text: String
        public var description: String {
            "\"\(text)\" is not a response pattern: hex digits, X or ? for any digit, * for any run of digits"
        }
    }
}
