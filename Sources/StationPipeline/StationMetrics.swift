import CardResults
import Foundation
import LineFigures
import Station
import Synchronization

/// The running station in the Prometheus text exposition format (version
/// 0.0.4), for `station --metrics`: cards by outcome and failure class (the
/// kinds of LineFigures), card durations as a histogram, reader states, the
/// spool, the results database and whether the line is stopped. Counters
/// only go up: they start at zero with the process, as Prometheus expects.
public final class StationMetrics: Sendable {
    /// Upper bounds of the duration histogram, seconds.
    public static let bucketBounds: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Key: Hashable, Comparable {
        let outcome: String
        let failureClass: String

        static func < (a: Key, b: Key) -> Bool { (a.outcome, a.failureClass) < (b.outcome, b.failureClass) }
    }

    struct State {
        var cards: [Key: Int] = [Key(outcome: "provisioned", failureClass: ""): 0, Key(outcome: "unchanged", failureClass: ""): 0,
                                 Key(outcome: "duplicate", failureClass: ""): 0]
        var buckets = [Int](repeating: 0, count: StationMetrics.bucketBounds.count)
        var durationCount = 0
        var durationSum = 0.0
        var readers: [String: ReaderActivity] = [:]
        var spooled = 0
        var databaseUp: Bool?
        var lineStopped = false
    }

    private let station: String
    private let state = Mutex(State())

    public init(station: String) {
        self.station = station
    }

    /// The outcome label of a card: provisioned, unchanged, duplicate, or failed with its class.
    static func key(of result: CardResult) -> Key {
        switch result.kind {
        case .succeeded: return Key(outcome: result.outcome, failureClass: "")
        case .duplicate: return Key(outcome: "duplicate", failureClass: "")
        case .failed(let failureClass): return Key(outcome: "failed", failureClass: failureClass)
        }
    }

    public func note(_ result: CardResult) {
        let seconds = result.milliseconds / 1000
        state.withLock { state in
            state.cards[Self.key(of: result), default: 0] += 1
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound { state.buckets[index] += 1 }
            state.durationCount += 1
            state.durationSum += seconds
        }
    }

    public func show(_ readers: [String: ReaderActivity]) {
        state.withLock { $0.readers = readers }
    }

    /// The results database's state (nil: the station runs without one) and the records waiting in the spool.
    public func database(up: Bool?, spooled: Int) {
        state.withLock { state in
            state.databaseUp = up
            state.spooled = spooled
        }
    }

    public func lineStopped() {
        state.withLock { $0.lineStopped = true }
    }

    /// The state names of `dmboot_reader_state`.
    static let readerStates = ["waiting", "provisioning", "remove_card", "gone"]

    static func name(of activity: ReaderActivity) -> String {
        switch activity {
        case .waitingForCard: return "waiting"
        case .provisioning: return "provisioning"
        case .removeCard: return "remove_card"
        case .gone: return "gone"
        }
    }

    /// The exposition, as GET /metrics answers it.
    public func exposition() -> String {
        let state = state.withLock { $0 }
        let station = "station=\"\(Self.escape(self.station))\""
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("dmboot_cards_total", "counter", "Cards finished, by outcome (provisioned, unchanged, duplicate, failed) and failure class.")
        for (key, count) in state.cards.sorted(by: { $0.key < $1.key }) {
            text += "dmboot_cards_total{\(station),outcome=\"\(key.outcome)\",failure_class=\"\(Self.escape(key.failureClass))\"} \(count)\n"
        }
        family("dmboot_card_duration_seconds", "histogram", "Time from taking a card to its result.")
        for (index, bound) in Self.bucketBounds.enumerated() {
            text += "dmboot_card_duration_seconds_bucket{\(station),le=\"\(Self.number(bound))\"} \(state.buckets[index])\n"
        }
        text += "dmboot_card_duration_seconds_bucket{\(station),le=\"+Inf\"} \(state.durationCount)\n"
        text += "dmboot_card_duration_seconds_sum{\(station)} \(Self.number(state.durationSum))\n"
        text += "dmboot_card_duration_seconds_count{\(station)} \(state.durationCount)\n"
        family("dmboot_reader_state", "gauge", "1 for each watched reader's current state, 0 for the others.")
        for reader in state.readers.keys.sorted() {
            let current = Self.name(of: state.readers[reader]!)
            for name in Self.readerStates {
                text += "dmboot_reader_state{\(station),reader=\"\(Self.escape(reader))\",state=\"\(name)\"} \(name == current ? 1 : 0)\n"
            }
        }
        family("dmboot_spool_records", "gauge", "Records waiting in the spool for the results database.")
        text += "dmboot_spool_records{\(station)} \(state.spooled)\n"
        if let up = state.databaseUp {
            family("dmboot_results_database_up", "gauge", "1 while the results database answers, 0 while results are spooled.")
            text += "dmboot_results_database_up{\(station)} \(up ? 1 : 0)\n"
        }
        family("dmboot_line_stopped", "gauge", "1 once the station stopped the line (--max-consecutive-failures).")
        text += "dmboot_line_stopped{\(station)} \(state.lineStopped ? 1 : 0)\n"
        return text
    }

    /// A label value as the text format writes it: backslash, double quote and line feed escaped.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
