import ArgumentParser
import ExitContract
import Foundation

/// Every layer's errors state their own status (`ClassifiedFailure`); the
/// command line's own errors are classified here.
extension ExitStatus {
    /// The status for an error thrown by any layer.
    static func of(_ error: Error) -> ExitStatus {
        switch error {
        case is ValidationError: return .usage
        case is CocoaError, is InputFileError: return .fileError
        default: return of(error, otherwise: .internalError)
        }
    }
}
