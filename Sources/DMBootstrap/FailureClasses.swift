import ExitContract

extension PushError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .wrongMIMEType, .missingKeyType, .invalidKeyType, .missingDigest, .digestLength, .digestNotHex, .extraFields:
            return .malformedContentType
        case .legacyNetworkIDRefused: return .policyRefusal
        case .digestMismatch, .keyTypeMismatch: return .pushNotAuthentic
        case .missingSecret: return .secretMissing
        case .invalidIMSI, .invalidESN: return .usage
        }
    }
}

extension WBXMLError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .malformedBootstrap }
}

extension XMLDocumentError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .malformedBootstrap }
}

extension HMACHeaderError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .integrityCheckFailed }
}

extension BootstrapError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .invalidAccounts, .noAccounts: return .invalidAccount
        case .refusedWarnings: return .strictRefusal
        default: return .malformedBootstrap
        }
    }
}
