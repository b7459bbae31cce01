import ExitContract

extension ServerCheckError: ClassifiedFailure {
    public var exitStatus: ExitStatus {
        switch self {
        case .dnsFailure, .connectionRefused, .connectionFailed, .timeout: return .serverUnreachable
        case .handshakeFailed, .weakKey: return .tlsHandshakeFailed
        case .wrongPSK: return .wrongPSK
        case .certificateNotTrusted: return .certificateNotTrusted
        case .protocolTooOld: return .protocolTooOld
        case .unknownSecurityMode, .invalidServerURI, .missingNode, .invalidCredential, .hostNotCheckable, .serverNameNotSendable:
            return .bootstrapCredentialsUnusable
        }
    }
}
