import APDU

/// The card answered a command with an error status word.
public struct CardStatusError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let status: StatusWord

    public init(_ operation: String, _ status: StatusWord) {
        self.operation = operation
        self.status = status
    }

    public var description: String { "the card answered \(operation) with \(status)" }
}

extension CardChannel {
    /// Transmits and insists on 9000 (or a warning when `warningsAllowed`).
    public func expectSuccess(_ command: CommandAPDU, _ operation: String,
                              warningsAllowed: Bool = false) throws -> ResponseAPDU {
        let response = try transmit(command)
        guard response.status == .success || (warningsAllowed && response.status.isWarning) else {
            throw CardStatusError(operation, response.status)
        }
        return response
    }
}
