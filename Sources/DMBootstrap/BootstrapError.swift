/// Why a document is not a usable bootstrap.
public enum BootstrapError: Error, Equatable, CustomStringConvertible {
    case notABootstrap(root: String)
    case unknownFormat
    case formatMismatch(requested: String, found: String)
    case malformedItem(command: String, reason: String)
    case invalidAccounts([AccountProblem])
    /// A strict policy refuses what would otherwise only be warned about.
    case refusedWarnings([AccountProblem])
    case noAccounts
    case limitExceeded(String)

    public var description: String {
        switch self {
        case .notABootstrap(let root):
            return "the document's root element is <\(root)>: not SyncML, MgmtTree (TNDS) or wap-provisioningdoc"
        case .unknownFormat:
            return "the bytes are neither WBXML (version byte 01-03) nor XML"
        case .formatMismatch(let requested, let found):
            return "--format \(requested) was asked for, but the document is \(found)"
        case .malformedItem(let command, let reason):
            return "a \(command) item is malformed: \(reason)"
        case .invalidAccounts(let problems):
            return "the bootstrap's accounts are not valid:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .refusedWarnings(let problems):
            return "the strict policy refuses the bootstrap's warnings (nothing was installed):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .limitExceeded(let what):
            return "the document is larger than any bootstrap: \(what)"
        case .noAccounts:
            return "the bootstrap carries no DM account (nothing under ./DMAcc, ./SyncML/DMAcc, or a w7 APPLICATION)"
        }
    }
}

/// One thing wrong with one account, for the list `invalidAccounts` gives.
public struct AccountProblem: Equatable, Sendable, CustomStringConvertible {
    /// An error is what a specification forbids; a warning is accepted unless the policy is strict.
    public enum Severity: String, Sendable {
        case error, warning
    }

    public let account: String
    /// The node inside ./DMAcc/<account>; empty for the account itself.
    public let path: String
    public let problem: String
    public let severity: Severity

    public init(account: String, path: String, problem: String, severity: Severity = .error) {
        self.account = account
        self.path = path
        self.problem = problem
        self.severity = severity
    }

    public var description: String {
        (severity == .warning ? "warning: " : "") + (path.isEmpty ? account : "\(account)/\(path)") + ": \(problem)"
    }
}
