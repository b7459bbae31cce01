import ExitContract

/// A failure as --json reports it: the exit code, its class (as `dmboot
/// exit-codes` names it), and the message.
public struct FailureReport: Encodable, Sendable, Equatable {
    public let status: ExitStatus
    public let message: String

    public init(status: ExitStatus, message: String) {
        self.status = status
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case ok, exitCode, `class`, message
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(false, forKey: .ok)
        try container.encode(Int(status.rawValue), forKey: .exitCode)
        try container.encode(status.failureClass, forKey: .class)
        try container.encode(message, forKey: .message)
    }
}

/// A command's own JSON object with, when it failed, the failure's fields
/// (`ok`, `exitCode`, `class`, `message`) in the same object: a script reads
/// every outcome the same way, and still gets what the command found.
/// `Body` must not have keys of its own with those names.
public struct ReportWithFailure<Body: Encodable>: Encodable {
    public let body: Body
    public let failure: FailureReport?

    public init(_ body: Body, failure: FailureReport?) {
        self.body = body
        self.failure = failure
    }

    public func encode(to encoder: any Encoder) throws {
        try body.encode(to: encoder)
        try failure?.encode(to: encoder)
    }
}

/// An error the command has already reported in its JSON object: only the
/// message on stderr and the exit status remain to be done.
public struct ReportedFailure: Error {
    public let error: any Error

    public init(error: any Error) {
        self.error = error
    }
}
