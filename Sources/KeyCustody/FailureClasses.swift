import ExitContract

extension PKCS11Error: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .moduleUnloadable, .failed: return .tokenUnavailable
        case .tokenNotFound: return .tokenNotFound
        case .pinIncorrect, .pinLocked: return .tokenPINRefused
        case .noObjectLabel, .objectNotFound, .objectAmbiguous: return .tokenKeyNotFound
        case .keyUnusable, .keyUsageMissing: return .tokenKeyNotPermitted
        }
    }
}

extension KeyTableError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .cardNotInTable, .noIdentity: return .cardNotInKeyTable
        case .unreadable, .malformed: return .keyMaterial
        }
    }
}

extension PKCS11URIError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .keyMaterial }
}

extension PINSourceError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .keyMaterial }
}

extension CardKeyProviderError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .keyMaterial }
}
