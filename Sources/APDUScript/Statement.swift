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
    /// Another script, read and checked when this one was parsed.
    case include(path: String, lines: [ScriptLine])
    case expect(String)
    case help(String?)
    /// What the current DF holds, as far as the card tells.
    case list
    /// Select by well-known name, label, file id, AID, `..` or `/`.
    case selectName(String)
    /// Select (when named) and read the whole EF, shown as a hex dump.
    case cat(String?)
    /// Explain the last response or the given hex as a structure.
    case decode(kind: CardDecoder.Kind, hex: String?)
    /// GET DATA 00E0: the Key Information Template.
    case keys
    /// GET DATA 9F7F: the Card Production Life Cycle data.
    case cplc
    /// GET STATUS: the security domains, applications and load files.
    case status
    case channel(ChannelAction)
    /// Whether 61xx / 6Cxx are followed up automatically.
    case getResponse(Bool)
    case history
    case ifBlock(condition: Condition, then: [ScriptLine], otherwise: [ScriptLine])
    case repeatBlock(count: String, body: [ScriptLine])
    case fail(String)
    /// UPDATE BINARY of the current EF at an offset, from hex or a file's bytes.
    case update(offset: String, hex: String?, file: String?)
    /// The last response's data, or the whole EF `name`, to an owner-only file.
    case save(path: String, name: String?)
    /// A DM bootstrap document into the EF its DODF entry `label` names.
    case writeBootstrap(label: String, file: String)
    /// VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER of a PIN; the
    /// sources (env:NAME, file:PATH) give its values, else they are prompted for.
    case pin(PINAction, reference: String, sources: [String])
    /// Reader and card events until Ctrl-C, or for the given seconds.
    case watch(String?)

    public enum PINAction: String, Equatable, Sendable {
        case verify
        case change = "change-pin"
        case unblock = "unblock-pin"

        /// How many values the command takes: the PIN; the current and new; the PUK and new.
        var valueCount: Int { self == .verify ? 1 : 2 }
    }

    public enum ChannelAction: Equatable, Sendable {
        case open
        case close(String?)
        case use(String)
    }

    /// What an `if` tests: the last status word, or the last response data.
    public enum Condition: Equatable, Sendable {
        case status(String)
        case response(String)
    }

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
