import CardTransport
import Foundation
import Station
import XCTest

/// The station's bookkeeping against a scripted source of reader events: an
/// in-process stand-in for pcscd (the real one is in the integration tests),
/// which can also make readers appear and disappear.
final class StationTests: XCTestCase {
    final class ScriptedEvents: ReaderEventSource, @unchecked Sendable {
        private let lock = NSCondition()
        private var current: [ReaderSnapshot]
        private var pending: [[ReaderSnapshot]] = []
        private var cancelled = false

        init(_ initial: [ReaderSnapshot]) { current = initial }

        func snapshot() throws -> [ReaderSnapshot] { lock.withLock { current } }

        func waitForChange() throws -> [ReaderSnapshot]? {
            lock.lock()
            defer { lock.unlock() }
            while pending.isEmpty && !cancelled { lock.wait() }
            if cancelled { return nil }
            current = pending.removeFirst()
            return current
        }

        func cancel() {
            lock.withLock { cancelled = true }
            lock.broadcast()
        }

        func post(_ readers: [ReaderSnapshot]) {
            lock.withLock { pending.append(readers) }
            lock.broadcast()
        }
    }

    /// A job that records which readers it ran for, fails on readers named in `failing`.
    final class Jobs: @unchecked Sendable {
        let lock = NSLock()
        var calls: [String] = []
        let failing: Set<String>
        init(failing: Set<String> = []) { self.failing = failing }

        func run(_ reader: String) -> CardResult {
            lock.withLock { calls.append(reader) }
            Thread.sleep(forTimeInterval: 0.02)
            let ok = !failing.contains(reader)
            return CardResult(started: Date(), reader: reader, outcome: ok ? "provisioned" : "cardNotAuthenticated",
                              exitCode: ok ? 0 : 20, seconds: 0.02)
        }
    }

    static func reader(_ name: String, _ present: Bool, events: Int = 0) -> ReaderSnapshot {
        ReaderSnapshot(name: name, cardPresent: present, cardEvents: events)
    }

    func testCardsAreProvisionedOncePerInsertionAndReadersComeAndGo() throws {
        let events = ScriptedEvents([Self.reader("A", true), Self.reader("B", false)])
        let jobs = Jobs(failing: ["B"])
        var configuration = Station.Configuration()
        configuration.maxCards = 4
        let station = Station(configuration: configuration, events: events, job: jobs.run)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.1)
            events.post([Self.reader("A", true), Self.reader("B", true)])          // B inserted, A still in: no second job for A
            Thread.sleep(forTimeInterval: 0.1)
            events.post([Self.reader("A", false, events: 1), Self.reader("B", true)])         // A pulled
            events.post([Self.reader("A", true, events: 2), Self.reader("B", true), Self.reader("C", true)])  // A again; reader C appears with a card
            Thread.sleep(forTimeInterval: 0.1)
            events.post([Self.reader("A", true, events: 2), Self.reader("B", false)])         // C unplugged, B's failed card removed
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
        var configuration = Station.Configuration()
        configuration.maxCards = 2
        let station = Station(configuration: configuration, events: events, job: jobs.run)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.1)
            events.post([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1)])  // same card: nothing
            Thread.sleep(forTimeInterval: 0.1)
            events.post([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 3)])  // pulled and replaced
            Thread.sleep(forTimeInterval: 2)
            station.stop()  // ends the run if the new card was missed
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
        let jobs = Jobs()
        let station = Station(configuration: Station.Configuration(), events: events, job: jobs.run)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.005)
            station.stop()
            events.post([Self.reader("A", false), Self.reader("B", false)])
            events.post([Self.reader("A", true), Self.reader("B", true)])
        }
        let results = try station.run()
        XCTAssertEqual(results.count, 2, "both cards in progress finished; no card after stop")
    }

    func testAFailingMonitorEndsTheStationWithItsError() {
        final class Broken: ReaderEventSource {
            func snapshot() throws -> [ReaderSnapshot] { [] }
            func waitForChange() throws -> [ReaderSnapshot]? { throw PCSCError.serviceNotRunning }
            func cancel() {}
        }
        XCTAssertThrowsError(try Station(configuration: Station.Configuration(), events: Broken(), job: Jobs().run).run()) {
            XCTAssertEqual($0 as? PCSCError, .serviceNotRunning)
        }
    }
}
