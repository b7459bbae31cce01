import CardSimulator
import Foundation
import Results
import TestSupport
import XCTest

/// Issue 25 item 2: a station SIGKILLed at a chosen moment, between the
/// tree's commit and its record's, through pcscd and a real PostgreSQL
/// slowed by a trigger. The card's record is not lost, it carries the card's
/// identity, and the card put back is refused as already provisioned, not
/// taken for `unchanged`.
extension StationResultsTests {
    static let demoIdentity = "iccid:89011234567890123456"

    func testAStationKilledBetweenTheTreeCommitAndTheRecordLosesNoRecord() throws {
        let connection = try database.connect()
        try ResultsSchema.migrate(connection, dmbootVersion: "test")
        try connection.execute("""
            CREATE FUNCTION dmboot.slow_record() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$
            """)
        try connection.execute("""
            CREATE TRIGGER slow_record BEFORE UPDATE ON dmboot.card_results FOR EACH ROW EXECUTE FUNCTION dmboot.slow_record()
            """)
        let line = try station("line-a", readers: "0", url: database.url)
        try line.waitUntilWatching()
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 0)
        defer { try? Rig.remove(inserted, slot: 0) }

        // The chosen moment: the tree is in place and the card's record is held in the slowed database.
        let completing = "SELECT pid FROM pg_stat_activity WHERE query LIKE 'UPDATE dmboot.card_results%' AND state = 'active'"
        try waitUntil("the record's completion held in the database") { try connection.execute(completing).rows.count == 1 }
        let tree = path("line-a", "trees") + "/iccid-89011234567890123456.sqlite"
        XCTAssertTrue(FileManager.default.fileExists(atPath: tree), "the tree committed before its record")
        line.signal(SIGKILL)
        XCTAssertEqual(try line.finish().status, SIGKILL)
        // What the server does once it notices its client is gone, at once.
        try connection.execute("SELECT pg_terminate_backend(pid) FROM (\(completing)) AS held")
        try waitUntil("the killed station's transaction to end") { try connection.execute(completing).rows.isEmpty }
        try connection.execute("DROP TRIGGER slow_record ON dmboot.card_results")

        let flushed = try Executable.run("dmboot", ["results", "flush", "--results", database.url, "--json"],
                                         environment: state("line-a"))
        XCTAssertEqual(flushed.status, 0, flushed.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(flushed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["settledProvisioned"] as? [String], [Self.demoIdentity], flushed.stdout)
        var stored = try records()
        XCTAssertEqual(stored.map(\.outcome), [.provisioned])
        XCTAssertEqual(stored.first?.cardIdentity, Self.demoIdentity)
        XCTAssertEqual(stored.first?.stationID, "line-a")
        XCTAssertEqual(stored.first?.reader, Rig.slots[0].reader)

        // The card, still in its reader, meets the station again.
        let again = try station("line-a", readers: "0", url: database.url, ["--max-cards", "1"])
        let ended = try again.finish()
        XCTAssertEqual(ended.status, 0, ended.stderr)
        stored = try records()
        XCTAssertEqual(stored.map(\.outcome), [.provisioned, .alreadyProvisioned], "not unchanged as if nothing had been provisioned")
        XCTAssertEqual(Set(stored.map(\.cardIdentity)), [Self.demoIdentity])
        let spool = ResultSpool(directory: path("line-a", "state") + "/dmboot/spool")
        XCTAssertEqual(try spool.intents().intents, [], "every intent settled")
    }

    /// A tree that already holds a card's accounts with no record of their
    /// install (a record lost before this fix): the card is recorded as
    /// provisioned, not as unchanged.
    func testATreeHoldingACardWithoutARecordIsRecordedAsProvisioned() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 0)
        defer { try? Rig.remove(inserted, slot: 0) }
        let trees = path("line-a", "trees")
        try FileManager.default.createDirectory(atPath: trees, withIntermediateDirectories: true)
        let plain = try Executable.run("dmboot", ["provision", "--reader", Rig.slots[0].reader, "--keys", keys,
                                                  "--tree", trees + "/iccid-89011234567890123456.sqlite"], environment: state("line-a"))
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let line = try station("line-a", readers: "0", url: database.url, ["--max-cards", "1"])
        let ended = try line.finish()
        XCTAssertEqual(ended.status, 0, ended.stderr)
        let stored = try records()
        XCTAssertEqual(stored.map(\.outcome), [.provisioned])
        XCTAssertEqual(stored.first?.cardIdentity, Self.demoIdentity)
        let log = try StationLogLine.parse(file: path("line-a", "log.jsonl"))
        XCTAssertEqual(log.map(\.outcome), ["provisioned"])
    }
}
