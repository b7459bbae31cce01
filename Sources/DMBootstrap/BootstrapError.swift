/// Why a document is not a usable bootstrap.
public enum BootstrapError: Error, Equatable, CustomStringConvertible {
    case notABootstrap(root: String)
    case unknownFormat
    case formatMismatch(requested: String, found: String)
    case malformedItem(command: String, reason: String)
    case invalidAccounts([AccountProblem])
    case noAccounts

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
        case .noAccounts:
            return "the bootstrap carries no DM account (nothing under ./DMAcc, ./SyncML/DMAcc, or a w7 APPLICATION)"
        }
    }
}

/// One thing wrong with one account, for the list `invalidAccounts` gives.
public struct AccountProblem: Equatable, Sendable, CustomStringConvertible {
    public let account: String
    public let path: String
    public let problem: String

    public var description: String { "\(account)/\(path): \(problem)" }
}
