/// A node's access control list, by the grammar of OMA-TS-DM_TND-V1_2_1
/// section 7.7.1.5 ("ACL syntax"):
///
///     acl               ::= acl-value | "No value"
///     acl-value         ::= acl-entry | acl-value "&" acl-entry
///     acl-entry         ::= command "=" server-identifiers
///     server-identifiers::= server-identifier | server-identifier "+" server-identifiers
///     server-identifier ::= "*" | all printable characters except "=", "&", "*", "+" or white space
///     command           ::= Add | Delete | Exec | Get | Replace
///
/// The tree writes an account's ServerID into the ACL of each of its nodes.
/// Pasted in as text, a ServerID such as `evil&Get=*` added an entry of its
/// own and made the secret nodes readable to every server; built here, an
/// identifier is checked against the grammar first and cannot add one.
public struct DMACL: Equatable, Sendable, CustomStringConvertible {
    public enum Command: String, CaseIterable, Sendable {
        case add = "Add", delete = "Delete", exec = "Exec", get = "Get", replace = "Replace"
    }

    /// One `<server-identifier>`: "*" (every server) or a ServerID the grammar allows.
    public struct ServerIdentifier: Equatable, Sendable, CustomStringConvertible {
        public let text: String

        public static let anyServer = ServerIdentifier(checked: "*")

        /// Nil for a ServerID that cannot be a `<server-identifier>`; `problem(_:)` says why.
        public init?(_ serverID: String) {
            guard Self.problem(serverID) == nil else { return nil }
            text = serverID
        }

        private init(checked: String) { text = checked }

        /// Why `serverID` cannot name a server in an ACL, or nil when it can.
        /// The message names the character, never the ServerID (it may hold
        /// control characters).
        public static func problem(_ serverID: String) -> String? {
            if serverID.isEmpty { return "empty: an ACL names a server by a non-empty identifier (TND 7.7.1.5)" }
            for scalar in serverID.unicodeScalars {
                if "=&*+".unicodeScalars.contains(scalar) {
                    return "holds \"\(scalar)\", which an ACL uses as syntax; TND 7.7.1.5 allows a ServerID every printable character but = & * + and white space"
                }
                if scalar.properties.isWhitespace {
                    return "holds white space (U+\(hex(scalar))); TND 7.7.1.5 allows no white space in a ServerID"
                }
                switch scalar.properties.generalCategory {
                case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator:
                    return "holds a character that is not printable (U+\(hex(scalar))); TND 7.7.1.5 allows printable characters only"
                default: continue
                }
            }
            return nil
        }

        private static func hex(_ scalar: Unicode.Scalar) -> String {
            let digits = String(scalar.value, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }

        public var description: String { text }
    }

    public struct Entry: Equatable, Sendable {
        public let command: Command
        public let servers: [ServerIdentifier]
    }

    public let entries: [Entry]

    /// `commands`, each granted to `server` alone, in the order given.
    public init(granting commands: [Command], to server: ServerIdentifier) {
        entries = commands.map { Entry(command: $0, servers: [server]) }
    }

    /// An ACL read back by the grammar; nil when the text breaks it (an empty
    /// string is the grammar's "No value": no entries).
    public init?(parsing text: String) {
        guard !text.isEmpty else {
            entries = []
            return
        }
        var entries: [Entry] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: false) {
            let sides = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard sides.count == 2, let command = Command(rawValue: String(sides[0])) else { return nil }
            var servers: [ServerIdentifier] = []
            for name in sides[1].split(separator: "+", omittingEmptySubsequences: false) {
                if name == "*" {
                    servers.append(.anyServer)
                } else if let server = ServerIdentifier(String(name)) {
                    servers.append(server)
                } else {
                    return nil
                }
            }
            entries.append(Entry(command: command, servers: servers))
        }
        self.entries = entries
    }

    /// Whether any entry grants `command` (to some server, or to all).
    public func grants(_ command: Command) -> Bool { entries.contains { $0.command == command } }

    public var description: String {
        entries.map { "\($0.command.rawValue)=\($0.servers.map(\.text).joined(separator: "+"))" }.joined(separator: "&")
    }
}
