import ExitContract

extension PolicyError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .unreadable: return .fileError
        case .malformed: return .usage
        default: return .policyRefusal
        }
    }
}
