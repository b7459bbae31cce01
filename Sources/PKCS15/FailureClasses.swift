import ExitContract

extension PKCS15Error: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .noPKCS15Application: return .noPKCS15Application
        case .noBootstrapObject: return .noBootstrapObject
        default: return .malformedCardData
        }
    }
}
