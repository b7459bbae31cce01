import ExitContract

extension SecureChannelError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .cardCryptogramMismatch, .cardChallengeMismatch: return .cardNotAuthenticated
        case .externalAuthenticateRefused: return .authenticationRefused
        case .encryptionKeyWrong: return .encryptionKeyWrong
        case .unsupportedSecurityLevel, .unparsableSecurityLevel: return .usage
        case .invalidKey, .mixedKeyLengths: return .keyMaterial
        case .initializeUpdateFailed, .malformedInitializeUpdateResponse, .notSCP03, .keyVersionMismatch,
             .challengeModeMismatch, .capabilityMissing, .challengeLengthRefused:
            return .secureChannelUnsupported
        case .responseMACMissing, .responseMACMismatch, .commandMACMismatch, .dataWithErrorStatus, .badPadding,
             .responseNotBlockAligned, .counterExhausted, .commandTooLong, .expectedLengthTooLong, .sessionClosed:
            return .secureMessagingFailure
        }
    }
}

extension KeyError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .keyMaterial }
}

extension DiversificationError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .keyMaterial }
}
