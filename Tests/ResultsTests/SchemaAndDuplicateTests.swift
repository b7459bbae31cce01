import Foundation
import Results
import TestSupport
import Synchronization
import XCTest

/// The schema dmboot migrates and the uniqueness rule the database itself
/// keeps, against a real PostgreSQL server.
final class SchemaAndDuplicateTests: DatabaseTestCase {
    func testMigrationBuildsTheSchemaOnceAndRecordsItsVersion() throws {
        let connection = try database.connect()
        XCTAssertEqual(try ResultsSchema.migrate(connection, dmbootVersion: "1.0"), 0, "a fresh database")
        XCTAssertEqual(try ResultsSchema.migrate(connection, dmbootVersion: "1.1"), ResultsSchema.current, "already migrated")
        let versions = try connection.execute("SELECT version, dmboot_version FROM dmboot.schema_version ORDER BY version")
        XCTAssertEqual(versions.rows, (1...ResultsSchema.current).map { ["\($0)", "1.0"] })
        let tables = try connection.execute("""
            SELECT table_name FROM information_schema.tables WHERE table_schema = 'dmboot' ORDER BY table_name
            """)
        XCTAssertEqual(tables.rows, [["card_results"], ["schema_version"], ["station_status"]])
    }

    func testStationsStartingTogetherMigrateOneAfterTheOther() throws {
        let errors = Mutex<[String]>([])
        let url = database.url
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                try ResultsSchema.migrate(try PostgresConnection(url: url), dmbootVersion: "1.0")
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.withLock { $0 }, [])
        let count = try database.connect().execute("SELECT count(*) FROM dmboot.schema_version").rows
        XCTAssertEqual(count, [["\(ResultsSchema.current)"]])
    }

    func testADatabaseMigratedByANewerDmbootIsRefused() throws {
        let connection = try database.connect()
        try ResultsSchema.migrate(connection, dmbootVersion: "1.0")
        try connection.execute("INSERT INTO dmboot.schema_version (version, dmboot_version) VALUES (99, 'future')")
        XCTAssertThrowsError(try ResultsSchema.migrate(connection, dmbootVersion: "1.0")) { error in
            XCTAssertEqual(error as? ResultsDatabaseError, .newerSchema(found: 99, known: ResultsSchema.current))
            XCTAssertFalse((error as? ResultsDatabaseError)?.isOutage ?? true, "a newer schema is no outage to spool around")
        }
        let station = try station("A")
        XCTAssertThrowsError(try station.recorder(database.url), "a station does not start against it")
    }

    /// The rule is the database's own: a second success of a card is refused
    /// by PostgreSQL whoever writes it, not only by dmboot's checks.
    func testTheDatabaseItselfRefusesASecondSuccessOfACard() throws {
        let connection = try database.connect()
        try ResultsSchema.migrate(connection, dmbootVersion: "1.0")
        let insert = """
            INSERT INTO dmboot.card_results (record_id, card_identity, station_id, run_id, outcome, failure_class, exit_code,
                                             duration_ms, dmboot_version, reprovision, started_at)
            VALUES (gen_random_uuid(), 'pkcs15:0102', $1, gen_random_uuid(), $2, $3, $4, 10, 'sql', $5, now())
            """
        try connection.execute(insert, ["A", "provisioned", nil, "0", "false"])
        try connection.execute(insert, ["B", "failed", "cardRemoved", "7", "false"])
        try connection.execute(insert, ["B", "alreadyProvisioned", "alreadyProvisioned", "100", "false"])
        try connection.execute(insert, ["B", "provisioned", nil, "0", "true"])
        XCTAssertThrowsError(try connection.execute(insert, ["B", "provisioned", nil, "0", "false"])) { error in
            guard case .refused(let state, let constraint, _)? = error as? ResultsDatabaseError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(state, "23505")
            XCTAssertEqual(constraint, "card_results_one_success")
        }
        XCTAssertThrowsError(try connection.execute(insert, ["B", "unchanged", nil, "0", "false"]))
        XCTAssertThrowsError(try connection.execute(insert, ["B", "provisioned", "cardRemoved", "0", "false"]),
                             "a success has no failure class")
        XCTAssertThrowsError(try connection.execute(insert, ["B", "failed", "cardRemoved", "0", "false"]),
                             "a failure has a non-zero exit code")
    }

    /// Eight stations take the same card at the same moment: exactly one
    /// installs; the others wait on the database, then are refused, and
    /// learn which station and record won.
    func testStationsRacingOnOneCardExactlyOneWins() throws {
        let racers = try (0..<8).map { try station("racer-\($0)") }
        let recorders = try racers.map { try $0.recorder(database.url) }
        let outcomes = Mutex<[String: String]>([:])
        let (monitor, name) = (try database.connect(), database.name)
        @Sendable func waitingOnLocks() throws -> Int {
            let rows = try monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [name]).rows
            return Int(rows.first?.first.flatMap { $0 } ?? "") ?? 0
        }
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        // A thread each: the global queue is as wide as the CPUs, and a racer blocked in libpq would hold the next back.
        for (index, recorder) in recorders.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                let record = racers[index].record("pkcs15:00C0FFEE")
                do {
                    let claim = try recorder.claim(record)
                    // The install: it ends once every other station waits on the database.
                    try waitUntil("the 7 other stations to wait on the winner's claim") { try waitingOnLocks() == 7 }
                    try recorder.finish(claim, record)
                    outcomes.withLock { $0[racers[index].id] = "provisioned" }
                } catch let refusal as AlreadyProvisioned {
                    outcomes.withLock { $0[racers[index].id] = refusal.earlierStation ?? "?" }
                } catch {
                    outcomes.withLock { $0[racers[index].id] = "error \(error)" }
                }
            }
        }
        for _ in recorders { start.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        let results = outcomes.withLock { $0 }
        let winners = results.filter { $0.value == "provisioned" }.map(\.key)
        XCTAssertEqual(winners.count, 1, "\(results)")
        for (station, outcome) in results where station != winners.first {
            XCTAssertEqual(outcome, winners.first, "\(station) is told who won")
        }
        let rows = try database.connect().execute(
            "SELECT station_id FROM dmboot.card_results WHERE card_identity = 'pkcs15:00C0FFEE'").rows
        XCTAssertEqual(rows, [[winners.first]])
    }

    func testAFailedCardLeavesItsIdentityFreeForTheNextTry() throws {
        let a = try station("A"), b = try station("B")
        let first = try a.recorder(database.url), second = try b.recorder(database.url)
        let failed = a.record("pkcs15:0A", .failed, failureClass: "cardRemoved", exitCode: 7)
        let claim = try first.claim(a.record("pkcs15:0A"))
        XCTAssertEqual(try first.finish(claim, failed), .stored)
        let retry = try second.claim(b.record("pkcs15:0A"))
        XCTAssertEqual(try second.finish(retry, b.record("pkcs15:0A")), .stored)
        let rows = try database.connect().execute("""
            SELECT station_id, outcome, failure_class, exit_code FROM dmboot.card_results
            WHERE card_identity = 'pkcs15:0A' ORDER BY started_at
            """).rows
        XCTAssertEqual(rows, [["A", "failed", "cardRemoved", "7"], ["B", "provisioned", nil, "0"]])
    }

    func testReprovisionIsRefusedUnlessAllowedAndThenRecordedAsSuch() throws {
        let a = try station("A"), b = try station("B")
        let first = try a.recorder(database.url)
        try first.finish(try first.claim(a.record("pkcs15:0B")), a.record("pkcs15:0B"))
        let refused = try b.recorder(database.url)
        XCTAssertThrowsError(try refused.claim(b.record("pkcs15:0B"))) { error in
            let refusal = error as? AlreadyProvisioned
            XCTAssertEqual(refusal?.source, .database)
            XCTAssertEqual(refusal?.earlierStation, "A")
            XCTAssertNotNil(refusal?.earlierRecord)
        }
        let allowed = try b.recorder(database.url, allowReprovision: true)
        let claim = try allowed.claim(b.record("pkcs15:0B"))
        XCTAssertTrue(claim.reprovision)
        try allowed.finish(claim, b.record("pkcs15:0B"))
        let fresh = try allowed.claim(b.record("pkcs15:0C"))
        XCTAssertFalse(fresh.reprovision, "only a card with an earlier success is a reprovision")
        try allowed.finish(fresh, b.record("pkcs15:0C"))
        let rows = try database.connect().execute("""
            SELECT station_id, reprovision FROM dmboot.card_results WHERE card_identity = 'pkcs15:0B' ORDER BY started_at
            """).rows
        XCTAssertEqual(rows, [["A", "f"], ["B", "t"]])
    }

    func testARecordReadsBackAsItWasWritten() throws {
        let a = try station("A")
        let recorder = try a.recorder(database.url)
        var record = a.record("pkcs15:0D")
        record.iccid = "8949000000000000001"
        record.replaced = ["Old, \"quoted\""]
        record.removed = ["Gone"]
        try recorder.finish(try recorder.claim(record), record)
        var failure = a.record(nil, .failed, failureClass: "cardRemoved", exitCode: 7)
        failure.error = "the card was removed"
        failure.apduCount = nil
        failure.kvn = nil
        try recorder.finish(nil, failure)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(stored.count, 2)
        let back = try XCTUnwrap(stored.first { $0.recordID == record.recordID })
        XCTAssertEqual(back.time.timeIntervalSince1970, record.time.timeIntervalSince1970, accuracy: 0.001)
        record.time = back.time
        XCTAssertEqual(back, record)
        let failed = try XCTUnwrap(stored.first { $0.recordID == failure.recordID })
        XCTAssertNil(failed.cardIdentity)
        XCTAssertNil(failed.apduCount)
        XCTAssertEqual(failed.error, "the card was removed")
    }

    func testTheURLsPasswordIsNeverShown() {
        XCTAssertEqual(PostgresConnection.redacted("postgresql://line:s3cret@db.example:5432/results"),
                       "postgresql://line:***@db.example:5432/results")
        XCTAssertEqual(PostgresConnection.redacted("postgresql://db.example/results?user=line&password=s3cret"),
                       "postgresql://db.example/results?user=line&password=***")
        XCTAssertThrowsError(try PostgresConnection(url: "postgresql://line:s3cret@127.0.0.1:1/results", connectTimeout: 1)) { error in
            XCTAssertFalse("\(error)".contains("s3cret"), "\(error)")
            XCTAssertTrue((error as? ResultsDatabaseError)?.isOutage ?? false, "\(error)")
        }
        XCTAssertThrowsError(try PostgresConnection(url: "mysql://db.example/results")) { error in
            guard case .invalidURL? = error as? ResultsDatabaseError else { return XCTFail("\(error)") }
        }
    }
}
