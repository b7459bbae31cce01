import ExitContract

extension ImportError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .malformedBootstrap }
}

extension TreeStoreError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .busy: return .treeBusy
        case .noSuchNode, .invalidPath: return .noSuchNode
        case .secretNode: return .secretNotRevealed
        default: return .treeStore
        }
    }
}
