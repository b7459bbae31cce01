import Foundation
import Results
import TestSupport
import XCTest

/// `results list` filters and the per-station, per-hour report, computed by
/// the database over records with known times.
final class ReportTests: DatabaseTestCase {
    var a: TestStation!
    var b: TestStation!
    let hour = Date(timeIntervalSince1970: 1_794_999_600)  // a whole hour, UTC

    override func setUpWithError() throws {
        try super.setUpWithError()
        a = try station("A")
        b = try station("B")
        let recorderA = try a.recorder(database.url), recorderB = try b.recorder(database.url)
        // Station A: three cards in the first hour (one pulled), one in the next.
        for (offset, identity) in [(0.0, "pkcs15:01"), (60, "pkcs15:02"), (120, "pkcs15:03")] {
            try recorderA.finish(nil, a.record(identity, time: hour + offset))
        }
        try recorderA.finish(nil, a.record(nil, .failed, failureClass: "cardRemoved", exitCode: 7, time: hour + 90))
        try recorderA.finish(nil, a.record("pkcs15:04", time: hour + 3700))
        // Station B: a duplicate refused and an authentication refusal in the first hour.
        try recorderB.finish(nil, b.record("pkcs15:01", .alreadyProvisioned, failureClass: "alreadyProvisioned",
                                           exitCode: 100, time: hour + 30))
        try recorderB.finish(nil, b.record("pkcs15:09", .failed, failureClass: "authenticationRefused", exitCode: 21,
                                           time: hour + 40))
    }

    func testTheReportCountsCardsFailuresDuplicatesAndRatePerStationAndHour() throws {
        let rows = try ResultsStore(connection: database.connect()).report(ResultsFilter())
        XCTAssertEqual(rows.map(\.station), ["A", "B", "A"])
        XCTAssertEqual(rows.map(\.hour), [hour, hour, hour + 3600])
        XCTAssertEqual(rows.map(\.cards), [4, 2, 1])
        XCTAssertEqual(rows.map(\.succeeded), [3, 0, 1])
        XCTAssertEqual(rows.map(\.failures), [["cardRemoved": 1], ["authenticationRefused": 1], [:]],
                       "a card refused as already provisioned is no failure")
        XCTAssertEqual(rows.map(\.failed), [1, 1, 0])
        XCTAssertEqual(rows.map(\.duplicates), [0, 1, 0])
        XCTAssertEqual(rows.map(\.yieldPercent), [75, 0, 100])
        XCTAssertEqual(try XCTUnwrap(rows[0].cardsPerMinute), 4 / 120.0125 * 60, accuracy: 1e-6,
                       "4 cards from the first start to the last end (12.5 ms after the start at 120 s)")
        XCTAssertNil(rows[2].cardsPerMinute, "one card has no rate")
        XCTAssertEqual(rows[0].meanMilliseconds, 12.5, accuracy: 1e-9)
    }

    func testListFiltersByStationTimeAndOutcome() throws {
        let store = try ResultsStore(connection: database.connect())
        XCTAssertEqual(try store.records(ResultsFilter()).count, 7)
        XCTAssertEqual(try store.records(ResultsFilter(station: "B")).map(\.failureClass),
                       ["alreadyProvisioned", "authenticationRefused"])
        XCTAssertEqual(try store.records(ResultsFilter(since: hour + 3600)).compactMap(\.cardIdentity), ["pkcs15:04"])
        XCTAssertEqual(try store.records(ResultsFilter(outcome: "failed")).count, 2)
        XCTAssertEqual(try store.records(ResultsFilter(outcome: "duplicate")).map(\.cardIdentity), ["pkcs15:01"])
        XCTAssertEqual(try store.records(ResultsFilter(outcome: "cardRemoved")).count, 1, "a failure class filters too")
        XCTAssertEqual(try store.records(ResultsFilter(station: "A", outcome: "provisioned")).count, 4)
        XCTAssertEqual(try store.records(ResultsFilter(station: "nobody'; DROP TABLE dmboot.card_results; --")).count, 0)
        XCTAssertEqual(try store.records(ResultsFilter()).count, 7, "parameters are never spliced into SQL")
    }
}
