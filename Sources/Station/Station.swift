import CardTransport
import Foundation

/// Where reader and card events come from: PC/SC in the product, a script in unit tests.
public protocol ReaderEventSource: AnyObject {
    func snapshot() throws -> [ReaderSnapshot]
    /// Blocks until something changes; nil when cancelled.
    func waitForChange() throws -> [ReaderSnapshot]?
    func cancel()
}

extension ReaderMonitor: ReaderEventSource {}

/// The outcome of one card, a line of the station log.
public struct CardResult: Sendable {
    public var started: Date
    public var reader: String
    public var cardIdentity: String?
    /// "provisioned", "unchanged", or the failure class of dmboot(1)'s EXIT STATUS.
    public var outcome: String
    public var exitCode: Int32
    public var added: [String] = []
    public var replaced: [String] = []
    public var removed: [String] = []
    public var unchanged: [String] = []
    public var apduCount: Int?
    public var seconds: Double
    public var tree: String?
    public var error: String?

    public init(started: Date, reader: String, outcome: String, exitCode: Int32, seconds: Double) {
        self.started = started
        self.reader = reader
        self.outcome = outcome
        self.exitCode = exitCode
        self.seconds = seconds
    }

    public var succeeded: Bool { exitCode == 0 }
}

/// What the station shows about each reader.
public enum ReaderActivity: Equatable, Sendable {
    case waitingForCard
    case provisioning
    case removeCard(outcome: String, identity: String?)
    case gone
}

/// A factory station: every watched reader provisions each card as it is
/// inserted, in parallel across readers, and waits for its removal before the
/// next. A card whose provisioning failed is left alone until it is removed:
/// it is never authenticated a second time.
public final class Station: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Reader name parts to watch; empty watches every reader.
        public var readers: [String] = []
        /// Provision only the cards in the readers at start, then stop.
        public var once = false
        public var maxCards: Int?

        public init() {}

        func watches(_ name: String) -> Bool {
            readers.isEmpty || readers.contains { name == $0 || name.range(of: $0, options: .caseInsensitive) != nil }
        }
    }

    public typealias Job = @Sendable (_ reader: String) -> CardResult

    private let configuration: Configuration
    private let events: ReaderEventSource
    private let job: Job
    private let queue = DispatchQueue(label: "dmboot.station")
    private let finished = DispatchSemaphore(value: 0)
    private var states: [String: ReaderActivity] = [:]
    private var present: [String: Bool] = [:]
    /// Per reader: pcscd's card event count now, and when its card was taken.
    private var cardEvents: [String: Int] = [:]
    private var cardEventsWhenTaken: [String: Int] = [:]
    private var initialReaders: Set<String>?
    private var inFlight = 0
    private var started = 0
    private var stopping = false
    private var done = false
    private var monitorFailure: Error?
    public private(set) var results: [CardResult] = []
    /// Called on the station's queue for each finished card.
    public var onResult: ((CardResult) -> Void)?
    /// Called on the station's queue whenever a reader's activity changes.
    public var onActivity: (([String: ReaderActivity]) -> Void)?

    public init(configuration: Configuration, events: ReaderEventSource, job: @escaping Job) {
        self.configuration = configuration
        self.events = events
        self.job = job
    }

    /// Watches and provisions until `stop()`, `--once` or `--max-cards` ends it.
    public func run() throws -> [CardResult] {
        let first = try events.snapshot()
        queue.sync { handle(first, initial: true) }
        let monitor = Thread { [weak self] in self?.watch() }
        monitor.name = "dmboot-station-monitor"
        monitor.start()
        finished.wait()
        if let monitorFailure { throw monitorFailure }
        return queue.sync { results }
    }

    /// Finishes the cards in progress, starts no new one, then ends `run()`.
    public func stop() {
        queue.async {
            self.stopping = true
            self.finishIfIdle()
        }
    }

    private func watch() {
        while true {
            let snapshot: [ReaderSnapshot]?
            do {
                snapshot = try events.waitForChange()
            } catch {
                queue.async {
                    self.monitorFailure = error
                    self.stopping = true
                    self.finishIfIdle()
                }
                return
            }
            let over = queue.sync { done }
            if over { return }
            if let snapshot { queue.async { self.handle(snapshot, initial: false) } }
        }
    }

    private func handle(_ snapshot: [ReaderSnapshot], initial: Bool) {
        let watched = snapshot.filter { configuration.watches($0.name) }
        if initial { initialReaders = Set(watched.filter(\.cardPresent).map(\.name)) }
        let names = Set(watched.map(\.name))
        for name in states.keys where !names.contains(name) {
            states[name] = .gone
            present[name] = false
        }
        for reader in watched {
            let usable = reader.cardPresent && !reader.mute
            present[reader.name] = usable
            cardEvents[reader.name] = reader.cardEvents
            switch states[reader.name] ?? .gone {
            case .gone, .waitingForCard:
                states[reader.name] = .waitingForCard
                if usable { start(reader.name) }
            case .removeCard:
                if !reader.cardPresent {
                    states[reader.name] = .waitingForCard
                } else if usable && isAnotherCard(in: reader.name) {
                    start(reader.name)
                }
            case .provisioning:
                break
            }
        }
        onActivity?(states)
        finishIfIdle()
    }

    private func start(_ reader: String) {
        guard !stopping else { return }
        if let maxCards = configuration.maxCards, started >= maxCards { return }
        if configuration.once && !(initialReaders?.contains(reader) ?? false) { return }
        if configuration.once { initialReaders?.remove(reader) }
        started += 1
        inFlight += 1
        cardEventsWhenTaken[reader] = cardEvents[reader]
        states[reader] = .provisioning
        let job = self.job
        // A thread per card: a job blocks in PC/SC for its whole card, and
        // the global dispatch pool (as wide as the CPUs) would queue readers
        // behind each other.
        let worker = Thread {
            let result = job(reader)
            self.queue.async { self.complete(reader, result) }
        }
        worker.name = "dmboot-station-card"
        worker.start()
    }

    private func complete(_ reader: String, _ result: CardResult) {
        inFlight -= 1
        results.append(result)
        onResult?(result)
        // The monitor saw any removal during provisioning already.
        states[reader] = present[reader] == true ? .removeCard(outcome: result.outcome, identity: result.cardIdentity) : .waitingForCard
        if present[reader] == true && isAnotherCard(in: reader) { start(reader) }
        onActivity?(states)
        finishIfIdle()
    }

    /// Whether the card in `reader` came after the one last taken there.
    private func isAnotherCard(in reader: String) -> Bool {
        cardEvents[reader] != cardEventsWhenTaken[reader]
    }

    private func finishIfIdle() {
        guard !done, inFlight == 0 else { return }
        let limitReached = configuration.maxCards.map { started >= $0 } ?? false
        let roundDone = configuration.once && (initialReaders?.isEmpty ?? true)
        guard stopping || limitReached || roundDone else { return }
        done = true
        events.cancel()
        finished.signal()
    }
}
