/// One line of an APDU script (apdu-script(5)). Arguments stay text until
/// the line runs, because they may name variables ($sw, $response, ${name}).
public enum Statement: Equatable, Sendable {
    case readers
    case connect(reader: String?)
    case disconnect
    case reset
    case atr
    case send(hex: String, expect: String?)
    case select(kind: SelectKind, value: String, expect: String?)
    case readBinary(offset: String, length: String, expect: String?)
    case readRecord(number: String, expect: String?)
    /// The whole current EF, in the largest chunks the channel carries.
    case readAll
    case openSecureChannel(level: String, keys: String?, testKeys: Bool)
    case closeSecureChannel
    case pkcs15
    case trace(Bool)
    case set(name: String, value: String)
    case echo(String)
    case sleep(String)
    case include(String)
    case expect(String)
    case help(String?)

    public enum SelectKind: String, Sendable, CaseIterable {
        case aid, fid, path
    }
}

/// A statement and where it was written.
public struct ScriptLine: Equatable, Sendable {
    public let file: String
    public let number: Int
    public let text: String
    public let statement: Statement
}

/// A line that is not valid script, with where and why.
public struct ScriptSyntaxError: Error, Equatable, CustomStringConvertible {
    public struct Problem: Equatable, Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let text: String
        public let reason: String

        public var description: String { "\(file):\(line): \(reason)\n    \(text)" }
    }

    public let problems: [Problem]

    public var description: String {
        "the script has \(problems.count) malformed line(s):\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
