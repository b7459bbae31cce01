import Foundation
import Results
import TestSupport
import XCTest

/// Batches and operators on every record (issue 26): a migration that keeps
/// the rows of before, the batch filter, --until, and the totals row.
final class BatchTests: DatabaseTestCase {
    let hour = Date(timeIntervalSince1970: 1_794_999_600)  // a whole hour, UTC

    func testTheBatchMigrationKeepsTheRowsOfBefore() throws {
        let connection = try database.connect()
        try ResultsSchema.migrate(connection, dmbootVersion: "0.9", through: 1)
        try connection.execute("""
            INSERT INTO dmboot.card_results (record_id, card_identity, station_id, run_id, outcome, exit_code, duration_ms,
                                             dmboot_version, started_at)
            VALUES ('6f1d3c2e-0000-4000-8000-000000000001', 'pkcs15:01', 'old', '6f1d3c2e-0000-4000-8000-000000000002',
                    'provisioned', 0, 12.5, '0.9', '2026-11-30T08:00:00Z')
            """)
        XCTAssertEqual(try ResultsSchema.migrate(connection, dmbootVersion: "1.0"), 1, "found version 1")
        let store = ResultsStore(connection: connection)
        let old = try store.records(ResultsFilter())
        XCTAssertEqual(old.map(\.cardIdentity), ["pkcs15:01"], "the row of before is kept")
        XCTAssertNil(old.first?.batch)
        XCTAssertNil(old.first?.operator)
    }

    func testRecordsCarryTheirBatchAndOperatorAndTheReportTotalsABatch() throws {
        let line = try station("A")
        let recorder = try line.recorder(database.url)
        func record(_ identity: String?, _ outcome: ResultRecord.Outcome = .provisioned, failureClass: String? = nil,
                    exitCode: Int32 = 0, at offset: Double, batch: String) throws {
            var record = line.record(identity, outcome, failureClass: failureClass, exitCode: exitCode, time: hour + offset)
            record.batch = batch
            record.operator = "ann"
            try recorder.finish(nil, record)
        }
        try record("pkcs15:01", at: 0, batch: "B-1")
        try record("pkcs15:02", at: 60, batch: "B-1")
        try record("pkcs15:01", .alreadyProvisioned, failureClass: "alreadyProvisioned", exitCode: 100, at: 90, batch: "B-1")
        try record(nil, .failed, failureClass: "cardRemoved", exitCode: 7, at: 3700, batch: "B-1")
        try record("pkcs15:09", at: 3800, batch: "B-2")
        let store = try ResultsStore(connection: database.connect())

        let batch = try store.records(ResultsFilter(batch: "B-1"))
        XCTAssertEqual(batch.count, 4)
        XCTAssertEqual(Set(batch.compactMap(\.operator)), ["ann"])
        XCTAssertEqual(try store.records(ResultsFilter(batch: "B-1", until: hour + 3600)).count, 3, "--until is exclusive")

        let rows = try store.report(ResultsFilter(batch: "B-1"))
        XCTAssertEqual(rows.map(\.cards), [3, 1])
        let total = try store.reportTotal(ResultsFilter(batch: "B-1"))
        XCTAssertEqual(total.station, "all")
        XCTAssertNil(total.hour)
        XCTAssertEqual(total.cards, 4)
        XCTAssertEqual(total.succeeded, 2)
        XCTAssertEqual(total.duplicates, 1)
        XCTAssertEqual(total.failures, ["cardRemoved": 1])
        XCTAssertEqual(total.yieldPercent, 66.7, "2 of the 3 cards that count")
        XCTAssertEqual(try XCTUnwrap(total.cardsPerMinute), 4 / 3700.0125 * 60, accuracy: 1e-6)
        let none = try store.reportTotal(ResultsFilter(batch: "nobody"))
        XCTAssertEqual(none.cards, 0)
        XCTAssertNil(none.yieldPercent)
    }
}
