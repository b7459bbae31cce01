import Foundation
import JSONOutput

/// The JSON form of a decoded bootstrap that `dmboot decode --json` prints
/// (documented in dmboot(1), DECODE OUTPUT). Keys never change meaning.
public enum BootstrapJSON {
    public struct Document: Encodable, Sendable {
        public let encoding: String
        public let documentType: String
        @NullWhenAbsent public var publicId: String?
        public let accounts: [Account]
        public let otherNodes: [String]
        public let ignoredCommands: [String]
        public let warnings: [Warning]
        public let valid: Bool
    }

    public struct Account: Encodable, Sendable {
        public let name: String
        public let source: String
        @NullWhenAbsent public var serverID: String?
        public let nodes: [Node]
        public let problems: [Problem]
    }

    /// A problem of one account, in its account's object.
    public struct Problem: Encodable, Sendable {
        public let path: String
        public let problem: String
        public let severity: String
    }

    /// A validation warning as every command lists it ("warnings").
    public struct Warning: Encodable, Sendable {
        public let account: String
        public let path: String
        public let problem: String

        public init(_ problem: AccountProblem) {
            account = problem.account
            path = problem.path
            self.problem = problem.problem
        }
    }

    /// A node: path, format, type, and its value as text (text formats) or
    /// base64 (bin, b64); a secret's value only as its size, unless revealed.
    public struct Node: Encodable, Sendable {
        public let path: String
        public let format: String
        public let type: String?
        public var secret: Bool?
        public var value: String?
        public var base64: String?
        public var redacted: String?

        /// The value as a line of text shows it: the text, `base64:` and the base64, or the redaction.
        public var shown: String {
            value ?? base64.map { "base64:\($0)" } ?? redacted ?? ""
        }

        /// Shows only the size of the value: the node is secret and not revealed.
        public mutating func redact(size: Int) {
            value = nil
            base64 = nil
            redacted = "<redacted \(size) bytes>"
        }
    }

    /// The warnings of `problems`, in the form every command lists them.
    public static func warnings(_ problems: [AccountProblem]) -> [Warning] {
        problems.filter { $0.severity == .warning }.map(Warning.init)
    }

    public static func object(_ bootstrap: DecodedBootstrap, problems: [AccountProblem], revealSecrets: Bool) -> Document {
        Document(
            encoding: bootstrap.encoding.rawValue,
            documentType: bootstrap.documentType.rawValue,
            publicId: bootstrap.publicID,
            accounts: bootstrap.accounts.map { entry in
                account(entry, problems: problems.filter { $0.account == entry.name }, revealSecrets: revealSecrets)
            },
            otherNodes: bootstrap.otherNodes,
            ignoredCommands: bootstrap.ignoredCommands,
            warnings: warnings(problems),
            valid: !problems.contains { $0.severity == .error } && !bootstrap.accounts.isEmpty)
    }

    public static func account(_ account: DMAccount, problems: [AccountProblem], revealSecrets: Bool) -> Account {
        Account(name: account.name, source: account.source.rawValue, serverID: account.serverID,
                nodes: account.nodes.map { node(for: $0, revealSecrets: revealSecrets) },
                problems: problems.map { Problem(path: $0.path, problem: $0.problem, severity: $0.severity.rawValue) })
    }

    public static func node(for node: DMNode, revealSecrets: Bool) -> Node {
        var shown = Node(path: node.path, format: node.format.rawValue, type: node.type, secret: node.isSecret ? true : nil)
        guard let value = node.value else { return shown }
        if node.isSecret && !revealSecrets {
            shown.redact(size: value.count)
        } else if node.format.isBinary || String(validating: value, as: UTF8.self) == nil {
            shown.base64 = Data(value).base64EncodedString()
        } else {
            shown.value = String(decoding: value, as: UTF8.self)
        }
        return shown
    }
}
