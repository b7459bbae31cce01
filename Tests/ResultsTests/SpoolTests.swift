import Foundation
import Results
import TestSupport
import Synchronization
import XCTest

/// Outages: records wait in the spool, durably and privately, duplicates
/// are checked against what the station knows, and the spool reaches the
/// database exactly once when it is back.
final class SpoolTests: XCTestCase {
    var stations: [TestStation] = []

    override func tearDown() {
        stations.forEach { $0.remove() }
    }

    func station(_ id: String) throws -> TestStation {
        let station = try TestStation(id)
        stations.append(station)
        return station
    }

    func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    func testASpooledRecordIsOneWholePrivateFile() throws {
        let a = try station("A")
        let record = a.record("pkcs15:01")
        try a.spool.write(record)
        let names = try FileManager.default.contentsOfDirectory(atPath: a.spool.directory)
        XCTAssertEqual(names, [record.recordID.uuidString.lowercased() + ".json"], "no temporary file stays behind")
        XCTAssertEqual(try mode(a.spool.directory), 0o700)
        XCTAssertEqual(try mode(a.spool.directory + "/" + names[0]), 0o600)
        var back = try XCTUnwrap(try a.spool.pending().records.first)
        XCTAssertEqual(back.time.timeIntervalSince1970, record.time.timeIntervalSince1970, accuracy: 0.001, "milliseconds kept")
        back.time = record.time
        XCTAssertEqual(back, record)
        try a.spool.remove(record.recordID)
        try a.spool.remove(record.recordID)  // a second flush finds it gone: fine
        XCTAssertEqual(a.spool.count, 0)
    }

    func testASpoolFileThatIsNotARecordIsSetAsideNotDeleted() throws {
        let a = try station("A")
        try a.spool.write(a.record("pkcs15:02"))
        let bad = a.spool.directory + "/0bad.json"
        try Data("{\"recordID\": 7".utf8).write(to: URL(fileURLWithPath: bad))
        try Data("half".utf8).write(to: URL(fileURLWithPath: a.spool.directory + "/.cut.json.tmp"))
        let found = try a.spool.pending()
        XCTAssertEqual(found.records.count, 1, "a temporary file a crash left is not a record")
        XCTAssertEqual(found.unreadable, [bad + ".unreadable"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: bad + ".unreadable"))
    }

    func testKnownCardsIgnoreALineACrashCutShort() throws {
        let a = try station("A")
        try a.knownCards.add("pkcs15:0A0A")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: a.knownCards.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("pkcs15:0B".utf8))  // a crash mid-append
        try handle.close()
        XCTAssertEqual(try a.knownCards.load(), ["pkcs15:0A0A"])
        try a.knownCards.add("pkcs15:0C0C")
        XCTAssertEqual(try a.knownCards.load(), ["pkcs15:0A0A", "pkcs15:0C0C"])
        XCTAssertEqual(try mode(a.knownCards.path), 0o600)
    }

    func testTheDefaultSpoolFollowsXDGStateHome() {
        XCTAssertEqual(ResultSpool.defaultDirectory(environment: ["XDG_STATE_HOME": "/var/lib/line"]),
                       "/var/lib/line/dmboot/spool")
        XCTAssertEqual(ResultSpool.defaultDirectory(environment: ["XDG_STATE_HOME": "relative"]),
                       NSHomeDirectory() + "/.local/state/dmboot/spool", "a relative XDG path is ignored, as the spec says")
        XCTAssertEqual(KnownCards.defaultPath(environment: ["XDG_STATE_HOME": "/s"]), "/s/dmboot/provisioned-cards")
    }

    /// The database is unreachable from the start: the station provisions
    /// on, every record goes to the spool, and a card it provisioned is
    /// refused the second time from its own records, also after a restart.
    func testWithoutTheDatabaseRecordsAreSpooledAndDuplicatesCheckedLocally() throws {
        let a = try station("A")
        let recorder = try a.recorder(TestDatabase.unreachable)
        guard case .spooling(let reason) = recorder.status else { return XCTFail("\(recorder.status)") }
        XCTAssertTrue(reason.contains("unreachable"), reason)
        let claim = try recorder.claim(a.record("pkcs15:03"))
        XCTAssertEqual(try recorder.finish(claim, a.record("pkcs15:03")), .spooled)
        XCTAssertEqual(try recorder.finish(nil, a.record(nil, .failed, failureClass: "cardRemoved", exitCode: 7)), .spooled)
        XCTAssertThrowsError(try recorder.claim(a.record("pkcs15:03"))) { error in
            XCTAssertEqual((error as? AlreadyProvisioned)?.source, .localRecords)
        }
        XCTAssertEqual(recorder.spooledCount, 2)
        let restarted = try a.recorder(TestDatabase.unreachable)
        XCTAssertThrowsError(try restarted.claim(a.record("pkcs15:03")), "the station's records outlive it")
        XCTAssertNoThrow(try restarted.claim(a.record("pkcs15:04")))
    }

    /// Delivery is idempotent by record id: a flush that stored a record but
    /// died before removing its file stores it once when run again.
    func testSpooledRecordsReachTheDatabaseExactlyOnce() throws {
        let database = try TestDatabase()
        let a = try station("A")
        let offline = try a.recorder(TestDatabase.unreachable)
        let records = (0..<5).map { a.record("pkcs15:1\($0)") }
        for record in records { try offline.finish(try offline.claim(record), record) }
        let copy = try Data(contentsOf: URL(fileURLWithPath: a.spool.directory + "/" + records[0].recordID.uuidString.lowercased() + ".json"))

        let statuses = Mutex<[ResultRecorder.Status]>([])
        let online = try a.recorder(database.url) { status in statuses.withLock { $0.append(status) } }
        XCTAssertEqual(online.status, .connected)
        XCTAssertEqual(online.flush().stored, 5)
        XCTAssertEqual(online.spooledCount, 0)
        try copy.write(to: URL(fileURLWithPath: a.spool.directory + "/" + records[0].recordID.uuidString.lowercased() + ".json"))
        let again = online.flush()
        XCTAssertEqual(again.alreadyStored, 1)
        XCTAssertEqual(again.stored, 0)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(Set(stored.map(\.recordID)), Set(records.map(\.recordID)))
        XCTAssertEqual(stored.count, 5)
    }

    /// Two stations provision the same card while neither reaches the
    /// database: when their spools are delivered, the first stands and the
    /// second is stored as a conflict that names it.
    func testACardProvisionedTwiceDuringAnOutageShowsAsAConflict() throws {
        let database = try TestDatabase()
        let a = try station("A"), b = try station("B")
        let offlineA = try a.recorder(TestDatabase.unreachable), offlineB = try b.recorder(TestDatabase.unreachable)
        let first = a.record("pkcs15:2A", time: Date(timeIntervalSinceNow: -2))
        let second = b.record("pkcs15:2A")
        try offlineA.finish(try offlineA.claim(first), first)
        try offlineB.finish(try offlineB.claim(second), second)

        XCTAssertEqual(try a.recorder(database.url).flush().stored, 1)
        let flushB = try b.recorder(TestDatabase.unreachable)
        XCTAssertEqual(flushB.flush().stoppedBy?.contains("unreachable"), true)
        let deliveredB = try b.recorder(database.url).flush()
        XCTAssertEqual(deliveredB.conflicts, 1)
        XCTAssertEqual(b.spool.count, 0)
        let conflicts = try ResultsStore(connection: database.connect()).records(ResultsFilter(outcome: "conflict"))
        XCTAssertEqual(conflicts.map(\.recordID), [second.recordID])
        XCTAssertEqual(conflicts.first?.conflictsWith, first.recordID)
        XCTAssertEqual(conflicts.first?.outcome, .provisioned, "the card was installed; the conflict says it happened twice")
        let report = try ResultsStore(connection: database.connect()).report(ResultsFilter())
        XCTAssertEqual(report.first { $0.station == "B" }?.duplicates, 1)
    }

    /// The database goes away between two cards and comes back: the recorder
    /// says it spools, keeps the card's record, and delivers it on the next
    /// flush, saying it is connected again.
    func testTheDatabaseLostMidRunAndBackAgain() throws {
        let database = try TestDatabase()
        let a = try station("A")
        let statuses = Mutex<[ResultRecorder.Status]>([])
        let recorder = try a.recorder(database.url) { status in statuses.withLock { $0.append(status) } }
        try recorder.finish(try recorder.claim(a.record("pkcs15:31")), a.record("pkcs15:31"))
        try database.admit(false)
        let claim = try recorder.claim(a.record("pkcs15:32"))
        XCTAssertEqual(try recorder.finish(claim, a.record("pkcs15:32")), .spooled)
        guard case .spooling? = statuses.withLock({ $0.last }) else { return XCTFail("\(statuses.withLock { $0 })") }
        XCTAssertThrowsError(try recorder.claim(a.record("pkcs15:31")), "its own cards are known while spooling")
        XCTAssertNotNil(recorder.flush().stoppedBy, "still unreachable")

        try database.admit(true)
        let flushed = recorder.flush()
        XCTAssertEqual(flushed.stored, 1)
        XCTAssertEqual(statuses.withLock { $0.last }, .connected)
        XCTAssertEqual(recorder.status, .connected)
        let identities = try ResultsStore(connection: database.connect()).records(ResultsFilter()).compactMap(\.cardIdentity)
        XCTAssertEqual(identities, ["pkcs15:31", "pkcs15:32"])
    }
}
