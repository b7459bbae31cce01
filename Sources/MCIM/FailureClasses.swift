import ExitContract

extension MCIMError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        if case .invalidKey = self { return .notAnRSAKey }
        return .mcimRefused
    }
}
