import ExitContract

extension ImportError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        if case .secretsLeftOut = self { return .secretsLeftOut }
        return .malformedBootstrap
    }
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
