import ExitContract

extension PCSCError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .serviceNotRunning: return .serviceUnavailable
        case .noReaders: return .noReader
        case .unknownReader, .ambiguousReader, .readerUnavailable: return .readerNotFound
        case .noCard, .noCardInAnyReader, .unresponsiveCard, .protocolMismatch: return .noCard
        case .cardRemoved, .cardReset: return .cardRemoved
        case .sharingViolation: return .readerBusy
        case .timeout: return .timeout
        case .failure: return .transportError
        }
    }
}

extension TransportError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .transportError }
}

extension CardStatusError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .cardError }
}
