import Foundation

/// SIGINT and SIGTERM (or the signals given) run a handler instead of ending the process, until
/// `cancel()`: the command ends its work its own way (a station finishes the
/// cards in progress, the simulator pulls its cards from the readers).
public struct Termination {
    private let sources: [DispatchSourceSignal]

    public init(_ handler: @escaping @Sendable () -> Void) {
        self.init(signals: [SIGINT, SIGTERM], handler)
    }

    /// Handles `signals` (SIGHUP for a log reopen) instead of their default action.
    public init(signals: [Int32], _ handler: @escaping @Sendable () -> Void) {
        sources = signals.map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    public func cancel() {
        sources.forEach { $0.cancel() }
    }
}
