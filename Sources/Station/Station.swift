import CardResults
import CardTransport
import Foundation
import Synchronization

/// Where reader and card events come from: PC/SC in the product, a script in unit tests.
public protocol ReaderEventSource: Sendable {
    func snapshot() throws -> [ReaderSnapshot]
    /// Blocks until something changes; nil when cancelled.
    func waitForChange() throws -> [ReaderSnapshot]?
    /// Ends the current wait and every later one, even one not yet begun.
    func cancel()
}

extension ReaderMonitor: ReaderEventSource {}

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
public final class Station: Sendable {
    public struct Configuration: Sendable {
        /// Reader name parts to watch; empty watches every reader.
        public var readers: [String] = []
        /// Provision only the cards in the readers at start, then stop.
        public var once = false
        public var maxCards: Int?
        /// This many cards in a row failing with the same class stop the
        /// station: a line fed with the wrong keys must not burn a batch. Nil
        /// or 0 never stops. Duplicates are not in the row (see `noteStreak`).
        public var maxConsecutiveFailures: Int?

        public init() {}

        func watches(_ name: String) -> Bool {
            readers.isEmpty || readers.contains { name == $0 || name.range(of: $0, options: .caseInsensitive) != nil }
        }
    }

    public typealias Job = @Sendable (_ reader: String) -> CardResult

    /// Why the station stopped the line by itself: `cards` cards in a row
    /// failed with `outcome`.
    public struct Halt: Equatable, Sendable {
        public let outcome: String
        public let exitCode: Int32
        public let cards: Int
    }

    /// What the station reports as it goes. Both run in order on one serial
    /// queue, never under the station's lock, so they may call `stop()`.
    public struct Observers: Sendable {
        /// Each finished card.
        public var result: @Sendable (CardResult) -> Void
        /// Every change of a reader's activity.
        public var activity: @Sendable ([String: ReaderActivity]) -> Void

        public init(result: @escaping @Sendable (CardResult) -> Void = { _ in },
                    activity: @escaping @Sendable ([String: ReaderActivity]) -> Void = { _ in }) {
            self.result = result
            self.activity = activity
        }
    }

    /// Everything that changes while the station runs, only touched under `state`'s lock.
    private struct State {
        var states: [String: ReaderActivity] = [:]
        var present: [String: Bool] = [:]
        /// Per reader: pcscd's card event count now, and when its card was taken.
        var cardEvents: [String: Int] = [:]
        var cardEventsWhenTaken: [String: Int] = [:]
        var initialReaders: Set<String>?
        var inFlight = 0
        var started = 0
        var stopping = false
        var done = false
        var monitorFailure: Error?
        var results: [CardResult] = []
        /// The failure class of the last finished cards and how many in a row had it.
        var failureStreak: (outcome: String, count: Int)?
        var halt: Halt?
    }

    private let configuration: Configuration
    private let events: ReaderEventSource
    private let job: Job
    private let observers: Observers
    private let state = Mutex(State())
    private let notifications = DispatchQueue(label: "dmboot.station.observers")
    private let finished = DispatchSemaphore(value: 0)
    /// Every thread the station started, until it has let go of the station.
    private let threads = DispatchGroup()

    public init(configuration: Configuration, events: ReaderEventSource, observers: Observers = Observers(),
                job: @escaping Job) {
        self.configuration = configuration
        self.events = events
        self.observers = observers
        self.job = job
    }

    /// Watches and provisions until `stop()`, `--once`, `--max-cards` or a
    /// failing event source (`monitorFailure`) ends it. Returns once every card is finished, every observer call was made and
    /// every thread it started has let go of the station, and so of the job and
    /// what the job holds: a PKCS#11 token must be closed by the caller's
    /// thread before the process exits, never by a card thread still winding
    /// down while exit handlers tear the module's library down (a double free
    /// in SoftHSM, seen in a station test).
    public func run() throws -> [CardResult] {
        let first = try events.snapshot()
        update { handle(first, initial: true, &$0) }
        start("dmboot-station-monitor") { $0.watch() }
        finished.wait()
        threads.wait()
        notifications.sync {}
        return state.withLock { $0.results }
    }

    /// Set when `maxConsecutiveFailures` stopped the station.
    public var halt: Halt? { state.withLock { $0.halt } }

    /// Why the reader events stopped (pcscd gone past its wait), which
    /// stopped the station; the cards finished before are still `run()`'s
    /// results, for the summary.
    public var monitorFailure: Error? { state.withLock { $0.monitorFailure } }

    /// Finishes the cards in progress, starts no new one, then ends `run()`.
    public func stop() {
        update { state in
            state.stopping = true
            return finishIfIdle(&state)
        }
    }

    /// The work a change of state implies, collected under the lock and done after it.
    private struct Effects {
        var starts: [String] = []
        var results: [CardResult] = []
        var activity: [String: ReaderActivity]?
        var finish = false
    }

    /// Changes the state under the lock, queues the observer calls in the
    /// order the changes happened, then starts cards and finishes outside it.
    private func update(_ change: (inout State) -> Effects) {
        let effects = state.withLock { state in
            let effects = change(&state)
            let (observers, results, activity) = (self.observers, effects.results, effects.activity)
            if !results.isEmpty || activity != nil {
                notifications.async {
                    results.forEach(observers.result)
                    if let activity { observers.activity(activity) }
                }
            }
            return effects
        }
        effects.starts.forEach(launch)
        if effects.finish { finish() }
    }

    private func watch() {
        while true {
            let snapshot: [ReaderSnapshot]?
            do {
                snapshot = try events.waitForChange()
            } catch {
                update { state in
                    if state.monitorFailure == nil && !state.done { state.monitorFailure = error }
                    state.stopping = true
                    return finishIfIdle(&state)
                }
                return
            }
            guard let snapshot else { return }
            update { handle(snapshot, initial: false, &$0) }
        }
    }

    private func handle(_ snapshot: [ReaderSnapshot], initial: Bool, _ state: inout State) -> Effects {
        guard !state.done else { return Effects() }
        var effects = Effects()
        let watched = snapshot.filter { configuration.watches($0.name) }
        if initial { state.initialReaders = Set(watched.filter(\.cardPresent).map(\.name)) }
        let names = Set(watched.map(\.name))
        for name in state.states.keys where !names.contains(name) {
            state.states[name] = .gone
            state.present[name] = false
        }
        for reader in watched {
            let usable = reader.cardPresent && !reader.mute
            state.present[reader.name] = usable
            state.cardEvents[reader.name] = reader.cardEvents
            switch state.states[reader.name] ?? .gone {
            case .gone, .waitingForCard:
                state.states[reader.name] = .waitingForCard
                if usable { start(reader.name, &state, &effects) }
            case .removeCard:
                if !reader.cardPresent {
                    state.states[reader.name] = .waitingForCard
                } else if usable && Self.isAnotherCard(in: reader.name, state) {
                    start(reader.name, &state, &effects)
                }
            case .provisioning:
                break
            }
        }
        effects.activity = state.states
        effects.finish = finishIfIdle(&state).finish
        return effects
    }

    private func start(_ reader: String, _ state: inout State, _ effects: inout Effects) {
        guard !state.stopping else { return }
        if let maxCards = configuration.maxCards, state.started >= maxCards { return }
        if configuration.once && !(state.initialReaders?.contains(reader) ?? false) { return }
        if configuration.once { state.initialReaders?.remove(reader) }
        state.started += 1
        state.inFlight += 1
        state.cardEventsWhenTaken[reader] = state.cardEvents[reader]
        state.states[reader] = .provisioning
        effects.starts.append(reader)
    }

    /// A thread per card: a job blocks in PC/SC for its whole card, and the
    /// global dispatch pool (as wide as the CPUs) would queue readers behind
    /// each other.
    private func launch(_ reader: String) {
        start("dmboot-station-card") { station in
            let result = station.job(reader)
            station.update { station.complete(reader, result, &$0) }
        }
    }

    /// Runs `work` on a thread of its own that holds the station only while
    /// `work` runs: the group is left after that reference is dropped, so once
    /// `threads.wait()` returns no thread keeps the station alive.
    private func start(_ name: String, _ work: @escaping @Sendable (Station) -> Void) {
        threads.enter()
        let held = Mutex<Station?>(self)
        let thread = Thread { [threads] in
            if let station = held.withLock({ $0.take() }) { work(station) }
            threads.leave()
        }
        thread.name = name
        thread.start()
    }

    private func complete(_ reader: String, _ result: CardResult, _ state: inout State) -> Effects {
        var effects = Effects()
        state.inFlight -= 1
        state.results.append(result)
        effects.results = [result]
        noteStreak(of: result, &state)
        // The monitor saw any removal during provisioning already.
        let present = state.present[reader] == true
        state.states[reader] = present ? .removeCard(outcome: result.outcome, identity: result.cardIdentity) : .waitingForCard
        if present && Self.isAnotherCard(in: reader, state) { start(reader, &state, &effects) }
        effects.activity = state.states
        effects.finish = finishIfIdle(&state).finish
        return effects
    }

    /// Counts failures of one class in a row, in the order cards finish, and
    /// stops the station at the limit. The cards already in other readers
    /// finish; none is started after.
    ///
    /// A duplicate (a card refused as already provisioned, or provisioned
    /// twice in this run) leaves the count as it was. It is no failure of the
    /// line, which did what it must with a card it had done before, so it
    /// does not count: re-fed cards must not stop a sound line. Nor does it
    /// show that the line can still provision a new card, so it does not end
    /// a run either: a batch failing on wrong keys, with old cards put back
    /// in between, must still stop the line.
    private func noteStreak(of result: CardResult, _ state: inout State) {
        guard !result.isDuplicate else { return }
        guard !result.succeeded else {
            state.failureStreak = nil
            return
        }
        let count = state.failureStreak?.outcome == result.outcome ? (state.failureStreak?.count ?? 0) + 1 : 1
        state.failureStreak = (result.outcome, count)
        guard let limit = configuration.maxConsecutiveFailures, limit > 0, count >= limit, state.halt == nil else { return }
        state.halt = Halt(outcome: result.outcome, exitCode: result.exitCode, cards: count)
        state.stopping = true
    }

    /// Whether the card in `reader` came after the one last taken there.
    private static func isAnotherCard(in reader: String, _ state: State) -> Bool {
        state.cardEvents[reader] != state.cardEventsWhenTaken[reader]
    }

    @discardableResult
    private func finishIfIdle(_ state: inout State) -> Effects {
        var effects = Effects()
        guard !state.done, state.inFlight == 0 else { return effects }
        let limitReached = configuration.maxCards.map { state.started >= $0 } ?? false
        let roundDone = configuration.once && (state.initialReaders?.isEmpty ?? true)
        guard state.stopping || limitReached || roundDone else { return effects }
        state.done = true
        effects.finish = true
        return effects
    }

    /// Ends the monitor and wakes `run()`, outside the lock: the monitor's
    /// cancel waits for a wait in progress to leave pcscd.
    private func finish() {
        events.cancel()
        finished.signal()
    }
}
