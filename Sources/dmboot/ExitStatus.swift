import APDU
import ArgumentParser
import CardSimulator
import CardTransport

/// The exit codes dmboot promises to scripts (dmboot(1), EXIT STATUS). A
/// factory script branches on these, so a code never changes meaning.
enum ExitStatus: Int32, CaseIterable {
    case success = 0
    case internalError = 1
    case usage = 2
    case serviceUnavailable = 3
    case noReader = 4
    case readerNotFound = 5
    case noCard = 6
    case cardRemoved = 7
    case readerBusy = 8
    case timeout = 9
    case transportError = 10
    case simulatorError = 12

    var summary: String {
        switch self {
        case .success: return "success"
        case .internalError: return "internal error (a bug: please report it)"
        case .usage: return "bad command line, flag or input file argument"
        case .serviceUnavailable: return "the PC/SC service (pcscd) is not running"
        case .noReader: return "no smartcard reader is connected"
        case .readerNotFound: return "--reader names no reader, or more than one"
        case .noCard: return "no card in the reader"
        case .cardRemoved: return "the card was removed or reset during the command"
        case .readerBusy: return "another application holds the card exclusively"
        case .timeout: return "a wait (--wait, --timeout) ran out"
        case .transportError: return "other PC/SC or card communication failure"
        case .simulatorError: return "the virtual card could not start (profile, driver port)"
        }
    }

    /// The status for an error thrown by any layer.
    static func of(_ error: Error) -> ExitStatus {
        switch error {
        case let error as PCSCError:
            switch error {
            case .serviceNotRunning: return .serviceUnavailable
            case .noReaders: return .noReader
            case .unknownReader, .ambiguousReader, .readerUnavailable: return .readerNotFound
            case .noCard, .unresponsiveCard, .protocolMismatch: return .noCard
            case .cardRemoved, .cardReset: return .cardRemoved
            case .sharingViolation: return .readerBusy
            case .timeout: return .timeout
            case .failure: return .transportError
            }
        case is TransportError: return .transportError
        case is ProfileError, is SimulatorError: return .simulatorError
        case is ValidationError: return .usage
        case is Hex.ParseError: return .usage
        default: return .internalError
        }
    }
}
