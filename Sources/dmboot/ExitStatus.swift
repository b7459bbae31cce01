import APDU
import ArgumentParser
import CardSimulator
import CardTransport
import Foundation
import DMBootstrap
import DMTree
import ExitContract
import MCIM
import Provisioning
import PKCS15
import SecureChannel
import ServerCheck

/// Maps every layer's errors onto the shared contract (ExitContract); the
/// layers both tools use are mapped there.
extension ExitStatus {
    /// The status for an error thrown by any layer.
    static func of(_ error: Error) -> ExitStatus {
        switch error {
        case let error as PushError:
            switch error {
            case .wrongMIMEType, .missingKeyType, .invalidKeyType, .missingDigest, .digestLength, .digestNotHex, .extraFields:
                return .malformedContentType
            case .legacyNetworkIDRefused: return .policyRefusal
            case .digestMismatch, .keyTypeMismatch: return .pushNotAuthentic
            case .missingSecret: return .secretMissing
            case .invalidIMSI, .invalidESN: return .usage
            }
        case is WBXMLError, is XMLDocumentError: return .malformedBootstrap
        case is HMACHeaderError: return .integrityCheckFailed
        case let error as MCIMError:
            if case .invalidKey = error { return .keyMaterial }
            return .mcimRefused
        case let error as ServerCheckError:
            switch error {
            case .dnsFailure, .connectionRefused, .connectionFailed, .timeout: return .serverUnreachable
            case .handshakeFailed, .weakKey: return .tlsHandshakeFailed
            case .wrongPSK: return .wrongPSK
            case .certificateNotTrusted: return .certificateNotTrusted
            case .protocolTooOld: return .protocolTooOld
            case .unknownSecurityMode, .invalidServerURI, .missingNode, .invalidCredential: return .bootstrapCredentialsUnusable
            }
        case let error as PolicyError:
            switch error {
            case .unreadable: return .fileError
            case .malformed: return .usage
            default: return .policyRefusal
            }
        case is ImportError: return .malformedBootstrap
        case let error as TreeStoreError:
            switch error {
            case .busy: return .treeBusy
            case .noSuchNode, .invalidPath: return .noSuchNode
            case .secretNode: return .secretNotRevealed
            default: return .treeStore
            }
        case let error as BootstrapError:
            switch error {
            case .invalidAccounts, .noAccounts: return .invalidAccount
            case .refusedWarnings: return .strictRefusal
            default: return .malformedBootstrap
            }
        case let error as PKCS15Error:
            switch error {
            case .noPKCS15Application: return .noPKCS15Application
            case .noBootstrapObject: return .noBootstrapObject
            default: return .malformedCardData
            }
        case is ProfileError, is SimulatorError: return .simulatorError
        case is ValidationError: return .usage
        case is CocoaError: return .fileError
        default: return ofCardLayers(error) ?? .internalError
        }
    }
}

