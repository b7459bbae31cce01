import Foundation
import Results
import Station
import StationPipeline
import Synchronization

/// The station's word in the results database (dmboot.station_status): it
/// is running, with these readers, every few seconds; it stopped, and why;
/// it ended. The dashboard tells a live line from a stopped or silent one by
/// it. An outage only delays the next write; it never holds a card up.
public final class StationHeartbeat: Sendable {
    /// Seconds between two writes while nothing changes.
    public static let interval: Double = 5

    private let settings: ResultRecorder.Settings
    private let status: Mutex<StationStatus>
    private let connection = Mutex<PostgresConnection?>(nil)
    private let wake = DispatchSemaphore(value: 0)
    private let running = Mutex(true)
    private let stopped = DispatchSemaphore(value: 0)

    /// Reaches the database as the station's recorder does (`settings`: its URL and password).
    public init(settings: ResultRecorder.Settings, context: RunContext) {
        self.settings = settings
        status = Mutex(StationStatus(stationID: context.stationID, runID: context.runID, state: .running,
                                     batch: context.batch, operator: context.operator, startedAt: Date()))
        let thread = Thread { [self] in
            while running.withLock({ $0 }) {
                write()
                _ = wake.wait(timeout: .now() + Self.interval)
            }
            stopped.signal()
        }
        thread.name = "dmboot-station-heartbeat"
        thread.start()
    }

    /// The readers' activity, written at once.
    public func show(_ readers: [String: ReaderActivity]) {
        status.withLock { $0.readers = readers.mapValues(Self.words) }
        wake.signal()
    }

    /// The last word: stopped (the line stopped, an error) or ended, and why; written before it returns.
    public func finish(_ state: StationStatus.State, reason: String?) {
        running.withLock { $0 = false }
        wake.signal()
        stopped.wait()
        status.withLock { status in
            status.state = state
            status.reason = reason
        }
        write()
    }

    private func write() {
        let status = status.withLock { $0 }
        do {
            let open = try connection.withLock { connection -> PostgresConnection in
                if let connection, !connection.isBroken { return connection }
                let opened = try PostgresConnection(url: settings.url, password: settings.password, connectTimeout: 3)
                connection = opened
                return opened
            }
            try ResultsStore(connection: open).write(status)
        } catch {
            // The recorder says when the database is unreachable; the next beat tries again.
            connection.withLock { $0 = nil }
        }
    }

    static func words(_ activity: ReaderActivity) -> String {
        switch activity {
        case .waitingForCard: return "waiting for a card"
        case .provisioning: return "provisioning"
        case .removeCard(let outcome, let identity): return "\(outcome) \(identity ?? "") - remove the card"
        case .gone: return "reader gone"
        }
    }
}
