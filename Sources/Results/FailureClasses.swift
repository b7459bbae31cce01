import ExitContract

extension AlreadyProvisioned: ClassifiedFailure {
    public var exitStatus: ExitStatus { .alreadyProvisioned }
}

extension ResultsDatabaseError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .invalidURL, .passwordGivenTwice: return .usage
        case .unavailable: return .resultsUnavailable
        case .refused: return isOutage ? .resultsUnavailable : .resultsRefused
        case .newerSchema: return .resultsRefused
        }
    }
}

extension ResultRecorder.FlushIncomplete: ClassifiedFailure {
    public var exitStatus: ExitStatus { .resultsUnavailable }
}

extension SpoolError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .resultNotKept }
}
