import CardTransport
import Foundation
import Synchronization

/// pcscd as a station sees it, for its status lines.
public enum ServiceState: Equatable, Sendable {
    /// pcscd went away (`reason`); the station waits up to `seconds` for it.
    case gone(reason: String, seconds: Double)
    /// pcscd answers again; the station watches the readers again.
    case back
}

/// A `ReaderMonitor` that outlives pcscd: when the service goes away
/// (stopped, restarted, crashed) it waits, up to a bound, for the service to
/// come back and then watches the readers again (issue 25 item 9). Cards in
/// flight fail meanwhile on their own connections, with what they had read.
/// Past the bound the wait throws the service's error, and the station stops.
public final class RecoveringReaderMonitor: ReaderEventSource {
    /// How often to try pcscd again while it is gone: it offers nothing to
    /// wait on while it is not running.
    static let retryInterval = DispatchTimeInterval.milliseconds(250)

    private let monitor: Mutex<ReaderMonitor>
    private let bound: Double
    private let onState: @Sendable (ServiceState) -> Void
    private let cancelled = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)
    private let counts = Mutex(EventCounts())

    /// pcscd counts each reader's card events from zero again when it
    /// restarts. Counts are carried over so that a card still in its reader
    /// after the restart stays the card the station already took: it is
    /// not provisioned (or refused, or authenticated) a second time.
    struct EventCounts {
        var last: [String: Int] = [:]
        var offset: [String: Int] = [:]
        var rebase = false

        mutating func adjust(_ readers: [ReaderSnapshot]) -> [ReaderSnapshot] {
            if rebase {
                offset = Dictionary(uniqueKeysWithValues: readers.map { ($0.name, (last[$0.name] ?? 0) - $0.cardEvents) })
                rebase = false
            }
            let adjusted = readers.map { reader in
                ReaderSnapshot(name: reader.name, cardPresent: reader.cardPresent, mute: reader.mute,
                               cardEvents: reader.cardEvents + (offset[reader.name] ?? 0))
            }
            for reader in adjusted { last[reader.name] = reader.cardEvents }
            return adjusted
        }
    }

    public init(waitingUpTo bound: Double, onState: @escaping @Sendable (ServiceState) -> Void) throws {
        monitor = Mutex(try ReaderMonitor())
        self.bound = bound
        self.onState = onState
    }

    public func snapshot() throws -> [ReaderSnapshot] {
        let readers = try monitor.withLock { $0 }.snapshot()
        return counts.withLock { $0.adjust(readers) }
    }

    public func waitForChange() throws -> [ReaderSnapshot]? {
        guard !cancelled.withLock({ $0 }) else { return nil }
        do {
            guard let readers = try monitor.withLock({ $0 }).waitForChange() else { return nil }
            return counts.withLock { $0.adjust(readers) }
        } catch let error as PCSCError where error.isServiceLoss {
            return try recover(from: error)
        }
    }

    public func cancel() {
        cancelled.withLock { $0 = true }
        wake.signal()
        monitor.withLock { $0 }.cancel()
    }

    /// Tries a new monitor until pcscd answers or `bound` seconds passed;
    /// the readers as they are once it is back, nil when cancelled. Past
    /// the bound it throws why the last try failed (pcscd not running, exit
    /// status 3), not the error of the call pcscd left half done.
    private func recover(from error: PCSCError) throws -> [ReaderSnapshot]? {
        onState(.gone(reason: "\(error)", seconds: bound))
        let deadline = DispatchTime.now() + .milliseconds(Int(bound * 1000))
        var lastError: Error = error
        while true {
            if cancelled.withLock({ $0 }) { return nil }
            let attempt = Result { () throws -> (ReaderMonitor, [ReaderSnapshot]) in
                let fresh = try ReaderMonitor()
                return (fresh, try fresh.snapshot())
            }
            switch attempt {
            case .failure(let failure): lastError = failure
            case .success(let (fresh, readers)):
                monitor.withLock { $0 = fresh }
                // A cancel that came before the swap did not reach the new monitor.
                if cancelled.withLock({ $0 }) {
                    fresh.cancel()
                    return nil
                }
                onState(.back)
                return counts.withLock { counts in
                    counts.rebase = true
                    return counts.adjust(readers)
                }
            }
            guard DispatchTime.now() < deadline else { throw lastError }
            _ = wake.wait(timeout: min(deadline, .now() + Self.retryInterval))
        }
    }
}
