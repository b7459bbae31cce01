import CardResults
import CardTransport
import Foundation
import Synchronization
import Station
import XCTest

/// The station's bookkeeping against a scripted source of reader events: an
/// in-process stand-in for pcscd (the real one is in the integration tests),
/// which can also make readers appear and disappear.
final class StationTests: XCTestCase {
    final class ScriptedEvents: ReaderEventSource {
        private struct Script {
            var current: [ReaderSnapshot]
            var pending: [[ReaderSnapshot]] = []
            var cancelled = false
        }

        private let script: Mutex<Script>
        /// One signal per posted picture, and one for the cancel.
        private let posted = DispatchSemaphore(value: 0)

        init(_ initial: [ReaderSnapshot]) { script = Mutex(Script(current: initial)) }

        func snapshot() throws -> [ReaderSnapshot] { script.withLock { $0.current } }

        func waitForChange() throws -> [ReaderSnapshot]? {
            while true {
                let next = script.withLock { script -> [ReaderSnapshot]?? in
                    if script.cancelled { return .some(nil) }
                    guard !script.pending.isEmpty else { return nil }
                    script.current = script.pending.removeFirst()
                    return script.current
                }
                if let next { return next }
                posted.wait()
            }
        }

        func cancel() {
            script.withLock { $0.cancelled = true }
            posted.signal()
        }

        func post(_ readers: [ReaderSnapshot]) {
            script.withLock { $0.pending.append(readers) }
            posted.signal()
        }
    }

    /// A job that records which readers it ran for and fails on readers named
    /// in `failing`. With `gated`, each job holds its card until `release()`.
    final class Jobs: Sendable {
        private let recorded = Mutex<[String]>([])
        let failing: Set<String>
        private let gate: DispatchSemaphore?
        /// Signalled as each job begins.
        let began = DispatchSemaphore(value: 0)

        init(failing: Set<String> = [], gated: Bool = false) {
            self.failing = failing
            gate = gated ? DispatchSemaphore(value: 0) : nil
        }

        var calls: [String] { recorded.withLock { $0 } }

        func run(_ reader: String) -> CardResult {
            recorded.withLock { $0.append(reader) }
            began.signal()
            gate?.wait()
            let ok = !failing.contains(reader)
            return CardResult(time: Date(), command: "station", stationID: "test", runID: UUID(), reader: reader,
                              outcome: ok ? "provisioned" : "cardNotAuthenticated",
                              failureClass: ok ? nil : "cardNotAuthenticated", exitCode: ok ? 0 : 20, milliseconds: 20,
                              dmbootVersion: "test")
        }

        func release(_ count: Int) {
            for _ in 0..<count { gate?.signal() }
        }
    }

    /// Observers that signal each finished card, so a test posts its next
    /// picture only once the station has acted on the last.
    struct Finished {
        let cards = DispatchSemaphore(value: 0)
        var observers: Station.Observers { Station.Observers(result: { [cards] _ in cards.signal() }) }

        func wait(for count: Int, file: StaticString = #filePath, line: UInt = #line) {
            for _ in 0..<count {
                XCTAssertEqual(cards.wait(timeout: .now() + 10), .success, "a card never finished", file: file, line: line)
            }
        }
    }

    static func reader(_ name: String, _ present: Bool, events: Int = 0) -> ReaderSnapshot {
        ReaderSnapshot(name: name, cardPresent: present, cardEvents: events)
    }

    func testCardsAreProvisionedOncePerInsertionAndReadersComeAndGo() throws {
        let events = ScriptedEvents([Self.reader("A", true), Self.reader("B", false)])
        let jobs = Jobs(failing: ["B"])
        let finished = Finished()
        var configuration = Station.Configuration()
        configuration.maxCards = 4
        let station = Station(configuration: configuration, events: events, observers: finished.observers, job: jobs.run)
        Thread.detachNewThread {
            finished.wait(for: 1)
            events.post([Self.reader("A", true), Self.reader("B", true)])          // B inserted, A still in: no second job for A
            finished.wait(for: 1)
            events.post([Self.reader("A", false, events: 1), Self.reader("B", true)])         // A pulled
            events.post([Self.reader("A", true, events: 2), Self.reader("B", true), Self.reader("C", true)])  // A again; reader C appears with a card
        }
        let results = try station.run()
        XCTAssertEqual(results.count, 4)
        XCTAssertEqual(jobs.calls.filter { $0 == "A" }.count, 2, "A's card provisioned again only after it was removed")
        XCTAssertEqual(jobs.calls.filter { $0 == "B" }.count, 1, "a failed card is never touched again while it stays")
        XCTAssertEqual(jobs.calls.filter { $0 == "C" }.count, 1, "a reader that appears is picked up")
        XCTAssertEqual(results.filter { !$0.succeeded }.map(\.reader), ["B"])
    }

    /// pcscd saw the card pulled and another inserted while the station looked
    /// elsewhere: only its event count shows the new card, which is taken.
    func testACardSwappedBetweenTwoLooksIsProvisioned() throws {
        let events = ScriptedEvents([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1)])
        let jobs = Jobs()
        let finished = Finished()
        var configuration = Station.Configuration()
        configuration.maxCards = 2
        let station = Station(configuration: configuration, events: events, observers: finished.observers, job: jobs.run)
        Thread.detachNewThread {
            finished.wait(for: 1)
            events.post([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1)])  // same card: nothing
            events.post([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 3)])  // pulled and replaced
            // Ends the run if the new card was missed; the assertions then fail.
            if finished.cards.wait(timeout: .now() + 5) == .timedOut { station.stop() }
        }
        let results = try station.run()
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(jobs.calls, ["A", "A"])
    }

    func testReadersOutsideTheListAreIgnored() throws {
        let events = ScriptedEvents([Self.reader("Virtual PCD 00 00", true), Self.reader("ACR38U", true)])
        let jobs = Jobs()
        var configuration = Station.Configuration()
        configuration.readers = ["virtual"]
        configuration.once = true
        let results = try Station(configuration: configuration, events: events, job: jobs.run).run()
        XCTAssertEqual(results.map(\.reader), ["Virtual PCD 00 00"])
    }

    func testOnceProvisionsTheCardsPresentAtStartThenEnds() throws {
        let events = ScriptedEvents([Self.reader("A", true), Self.reader("B", false), Self.reader("C", true)])
        let jobs = Jobs()
        var configuration = Station.Configuration()
        configuration.once = true
        let results = try Station(configuration: configuration, events: events, job: jobs.run).run()
        XCTAssertEqual(Set(results.map(\.reader)), ["A", "C"])
    }

    func testStopFinishesTheCardsInProgressAndStartsNoMore() throws {
        let events = ScriptedEvents([Self.reader("A", true), Self.reader("B", true)])
        let jobs = Jobs(gated: true)
        let station = Station(configuration: Station.Configuration(), events: events, job: jobs.run)
        Thread.detachNewThread {
            jobs.began.wait()
            jobs.began.wait()
            station.stop()
            events.post([Self.reader("A", false), Self.reader("B", false)])
            events.post([Self.reader("A", true, events: 2), Self.reader("B", true, events: 2)])
            jobs.release(2)
        }
        let results = try station.run()
        XCTAssertEqual(results.count, 2, "both cards in progress finished; no card after stop")
        XCTAssertEqual(jobs.calls.sorted(), ["A", "B"])
    }

    func testCardsFailingInARowWithOneClassStopTheLine() throws {
        let events = ScriptedEvents([Self.reader("A", true)])
        let jobs = Jobs(failing: ["A"])
        let finished = Finished()
        var configuration = Station.Configuration()
        configuration.maxConsecutiveFailures = 3
        let station = Station(configuration: configuration, events: events, observers: finished.observers, job: jobs.run)
        Thread.detachNewThread {
            // Cards keep coming while the station takes them; after the halt none finishes and this stops.
            for insertion in 1...5 {
                guard finished.cards.wait(timeout: .now() + 5) == .success else { return }
                events.post([Self.reader("A", false, events: insertion * 2 - 1)])
                events.post([Self.reader("A", true, events: insertion * 2)])
            }
        }
        let results = try station.run()
        XCTAssertEqual(results.count, 3, "the third failure in a row stops the station; no fourth card is taken")
        let halt = try XCTUnwrap(station.halt)
        XCTAssertEqual(halt.outcome, "cardNotAuthenticated")
        XCTAssertEqual(halt.exitCode, 20)
        XCTAssertEqual(halt.cards, 3)
    }

    /// A card refused as already provisioned (exit 100) or provisioned twice
    /// in the run is a duplicate: three in a row do not stop a line whose
    /// limit is two, and one between two failures does not end their run.
    func testDuplicatesNeitherCountAsFailuresNorBreakARunOfThem() throws {
        let outcomes = Mutex([("alreadyProvisioned", Int32(100)), ("alreadyProvisioned", 100), ("alreadyProvisioned", 100),
                              ("cardNotAuthenticated", 20), ("duplicate", 0), ("cardNotAuthenticated", 20),
                              ("provisioned", 0)])
        let job: Station.Job = { reader in
            let (outcome, exitCode) = outcomes.withLock { $0.removeFirst() }
            return CardResult(time: Date(), command: "station", stationID: "test", runID: UUID(), reader: reader,
                              outcome: outcome, failureClass: exitCode == 0 ? nil : outcome, exitCode: exitCode,
                              milliseconds: 20, dmbootVersion: "test")
        }
        let events = ScriptedEvents([Self.reader("A", true)])
        let finished = Finished()
        var configuration = Station.Configuration()
        configuration.maxConsecutiveFailures = 2
        let station = Station(configuration: configuration, events: events, observers: finished.observers, job: job)
        Thread.detachNewThread {
            // Cards keep coming while the station takes them; after the halt none finishes and this stops.
            for insertion in 1...6 {
                guard finished.cards.wait(timeout: .now() + 5) == .success else { return }
                events.post([Self.reader("A", false, events: insertion * 2 - 1)])
                events.post([Self.reader("A", true, events: insertion * 2)])
            }
        }
        let results = try station.run()
        XCTAssertEqual(results.map(\.outcome), ["alreadyProvisioned", "alreadyProvisioned", "alreadyProvisioned",
                                                "cardNotAuthenticated", "duplicate", "cardNotAuthenticated"],
                       "the line stops at the second authentication failure, not at the second refusal")
        let halt = try XCTUnwrap(station.halt)
        XCTAssertEqual(halt.outcome, "cardNotAuthenticated")
        XCTAssertEqual(halt.cards, 2)
    }

    func testASuccessBreaksARunOfFailures() throws {
        let events = ScriptedEvents([Self.reader("A", true), Self.reader("B", false)])
        let jobs = Jobs(failing: ["A"])
        let finished = Finished()
        var configuration = Station.Configuration()
        configuration.maxCards = 4
        configuration.maxConsecutiveFailures = 3
        let station = Station(configuration: configuration, events: events, observers: finished.observers, job: jobs.run)
        Thread.detachNewThread {
            finished.wait(for: 1)                                                    // A fails
            events.post([Self.reader("A", false, events: 1), Self.reader("B", true, events: 1)])
            finished.wait(for: 1)                                                    // B succeeds
            events.post([Self.reader("A", true, events: 2), Self.reader("B", false, events: 2)])
            finished.wait(for: 1)                                                    // A fails
            events.post([Self.reader("A", false, events: 3), Self.reader("B", false, events: 2)])
            events.post([Self.reader("A", true, events: 4), Self.reader("B", false, events: 2)])
        }
        let results = try station.run()
        XCTAssertEqual(results.map(\.succeeded), [false, true, false, false])
        XCTAssertNil(station.halt, "fail, success, fail, fail is a run of two, under the limit of three")
    }

    /// A cancel that lands before the monitor's next wait must still end it:
    /// the station stops its monitor at the end of the run, whenever that falls.
    func testTheMonitorIsStoppedWhenTheRunEnds() throws {
        let events = ScriptedEvents([Self.reader("A", true)])
        var configuration = Station.Configuration()
        configuration.once = true
        _ = try Station(configuration: configuration, events: events, job: Jobs().run).run()
        XCTAssertNil(try events.waitForChange(), "the run's end cancelled the event source for good")
    }

    /// The monitor's error after the run has finished (pcscd going away as
    /// the station stops) is not the run's outcome: the run decided under
    /// its lock that it was over, and returns its cards.
    func testAMonitorFailingAfterTheRunEndedDoesNotFailIt() throws {
        final class FailsWhenCancelled: ReaderEventSource {
            private let cancelled = DispatchSemaphore(value: 0)
            func snapshot() throws -> [ReaderSnapshot] { [StationTests.reader("A", true)] }
            func waitForChange() throws -> [ReaderSnapshot]? {
                cancelled.wait()
                cancelled.signal()
                throw PCSCError.serviceNotRunning
            }
            func cancel() { cancelled.signal() }
        }
        var configuration = Station.Configuration()
        configuration.once = true
        for _ in 0..<20 {
            let results = try Station(configuration: configuration, events: FailsWhenCancelled(), job: Jobs().run).run()
            XCTAssertEqual(results.map(\.reader), ["A"])
        }
    }

    /// What the job holds (a PKCS#11 token in the product) is let go by the
    /// time `run()` returns, so the caller's thread closes it before the
    /// process exits. The event source here takes its time leaving a wait
    /// after the cancel, as pcscd may: a monitor thread still winding down
    /// must not be holding the station then.
    func testNoThreadOfTheStationHoldsItsJobOnceTheRunReturns() throws {
        final class SlowToLeave: ReaderEventSource {
            private let cancelled = DispatchSemaphore(value: 0)
            func snapshot() throws -> [ReaderSnapshot] { [StationTests.reader("A", true), StationTests.reader("B", true)] }
            func waitForChange() throws -> [ReaderSnapshot]? {
                cancelled.wait()
                cancelled.signal()
                usleep(300_000)
                return nil
            }
            func cancel() { cancelled.signal() }
        }
        final class Held: Sendable {}
        var configuration = Station.Configuration()
        configuration.once = true
        weak var held: Held?
        let results: [CardResult] = try {
            let resource = Held()
            held = resource
            let jobs = Jobs()
            return try Station(configuration: configuration, events: SlowToLeave(), job: { [resource] reader in
                withExtendedLifetime(resource) { jobs.run(reader) }
            }).run()
        }()
        XCTAssertEqual(results.map(\.reader).sorted(), ["A", "B"])
        XCTAssertNil(held, "a thread of the station still held the job when run() returned")
    }

    func testAFailingMonitorEndsTheStationWithItsError() {
        final class Broken: ReaderEventSource {
            func snapshot() throws -> [ReaderSnapshot] { [] }
            func waitForChange() throws -> [ReaderSnapshot]? { throw PCSCError.serviceNotRunning }
            func cancel() {}
        }
        let station = Station(configuration: Station.Configuration(), events: Broken(), job: Jobs().run)
        XCTAssertEqual(try station.run(), [], "the cards done before, for the summary")
        XCTAssertEqual(station.monitorFailure as? PCSCError, .serviceNotRunning)
    }
}
