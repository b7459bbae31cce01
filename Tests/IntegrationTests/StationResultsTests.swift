import CardSimulator
import Foundation
import Results
import Synchronization
import TestSupport
import XCTest

/// A test of stations and a real PostgreSQL server: a folder of its own and
/// the demo card's keys in it, removed afterwards.
class LineDatabaseTestCase: DatabaseTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var folder: URL!
    var keys: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("line-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
        try super.tearDownWithError()
    }
}

/// `station` and `provision` with `--results`: through pcscd to virtual
/// cards, into a real PostgreSQL server, with outages made by stopping it.
final class StationResultsTests: LineDatabaseTestCase {
    func path(_ station: String, _ name: String) -> String {
        folder.appendingPathComponent(station).appendingPathComponent(name).path
    }

    func state(_ station: String) -> [String: String] { ["XDG_STATE_HOME": path(station, "state"), "DMBOOT_RESULTS": ""] }

    func station(_ id: String, readers: String, url: String, _ extra: [String] = []) throws -> BackgroundProcess {
        try FileManager.default.createDirectory(atPath: path(id, "state"), withIntermediateDirectories: true)
        return try BackgroundProcess(["station", "--keys", keys, "--tree-dir", path(id, "trees"), "--json-log", path(id, "log.jsonl"),
                                      "--readers", readers, "--results", url, "--station-id", id] + extra,
                                     in: folder, environment: state(id))
    }

    func feeder(_ count: Int, slots: Range<Int>, _ extra: [String] = []) throws -> BackgroundProcess {
        try BackgroundProcess.feeder(count, slots: slots, extra, in: folder)
    }

    func lines(_ station: String) -> Int {
        ((try? String(contentsOfFile: path(station, "log.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func records() throws -> [ResultRecord] {
        try ResultsStore(connection: database.connect()).records(ResultsFilter())
    }

    /// Runs one of the project's scripts (pg-start.sh, pg-stop.sh) and returns its stdout. system(3), not
    /// Process: the script leaves a server running, and Process was seen not to reap the script then.
    func script(_ name: String, _ arguments: [String] = [], environment: [String: String]) throws -> String {
        let output = folder.appendingPathComponent("\(name)-\(UUID().uuidString).out").path
        let words = [Self.repository.appendingPathComponent("scripts/\(name)").path] + arguments
        let variables = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
        let status = system("env \(variables) bash \(words.map { "'\($0)'" }.joined(separator: " ")) >'\(output)' 2>/dev/null </dev/null")
        XCTAssertEqual(status, 0, "scripts/\(name)")
        return try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Two stations of one line, two readers each, one database: every card
    /// is recorded once, under the station that provisioned it.
    func testTwoStationsRecordEveryCardOnceInOneDatabase() throws {
        let a = try station("line-a", readers: "0,1", url: database.url)
        let b = try station("line-b", readers: "2,3", url: database.url)
        let fed = try feeder(8, slots: 0..<4).finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        try waitUntil("8 log lines") { lines("line-a") + lines("line-b") == 8 }
        a.signal(SIGTERM)
        b.signal(SIGTERM)
        XCTAssertEqual(try a.finish().status, 0)
        XCTAssertEqual(try b.finish().status, 0)

        let stored = try records()
        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(stored.count, 8)
        XCTAssertEqual(Set(stored.compactMap(\.cardIdentity)), Set(cards.compactMap(\.identity)))
        XCTAssertEqual(Set(stored.map(\.stationID)), ["line-a", "line-b"])
        for record in stored {
            XCTAssertEqual(record.outcome, .provisioned)
            XCTAssertEqual(record.apduCount, 24)
            XCTAssertEqual(record.kvn, 0x30)
            XCTAssertEqual(record.atr, BuiltInProfiles.demoATR)
            XCTAssertEqual(record.reader.map { $0.hasPrefix("Virtual PCD") }, true)
            XCTAssertEqual(record.stationID == "line-a", [Rig.slots[0].reader, Rig.slots[1].reader].contains(record.reader ?? ""))
        }
        let text = try JSONEncoder().encode(stored)
        let keyMaterial = try String(contentsOfFile: keys, encoding: .utf8)
        for hex in keyMaterial.split(whereSeparator: { !$0.isHexDigit }) where hex.count >= 32 {
            XCTAssertFalse(String(decoding: text, as: UTF8.self).localizedCaseInsensitiveContains(hex), "no key in a record")
        }
    }

    /// --batch and --operator reach every log line, every record and the
    /// summary; `results report --batch` totals the batch.
    func testTheBatchAndOperatorAreOnEveryRecordAndTheBatchIsReportedWhole() throws {
        let line = try station("line-a", readers: "0", url: database.url,
                               ["--batch", "B-2026-12-07", "--operator", "Ann Smith", "--max-cards", "2",
                                "--summary", path("line-a", "summary.json")])
        XCTAssertEqual(try feeder(2, slots: 0..<1).finish().status, 0)
        XCTAssertEqual(try line.finish().status, 0)
        let log = try String(contentsOfFile: path("line-a", "log.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(log.map { $0["batch"] as? String }, ["B-2026-12-07", "B-2026-12-07"])
        XCTAssertEqual(log.map { $0["operator"] as? String }, ["Ann Smith", "Ann Smith"])
        XCTAssertEqual(try records().map(\.batch), ["B-2026-12-07", "B-2026-12-07"])
        XCTAssertEqual(try records().map(\.operator), ["Ann Smith", "Ann Smith"])
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("line-a", "summary.json"))))
                                    as? [String: Any])
        XCTAssertEqual(summary["batch"] as? String, "B-2026-12-07")
        let report = try Executable.run("dmboot", ["results", "report", "--results", database.url, "--batch", "B-2026-12-07", "--csv"],
                                        environment: state("line-a"))
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.split(separator: "\n").last?.hasPrefix("total,all,2,2,0,0,0,100.0,") ?? false, report.stdout)
        let refused = try Executable.run("dmboot", ["station", "--keys", keys, "--tree-dir", path("x", "t"), "--batch", "bad\u{1B}[2J"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--batch takes 1 to 64 printable characters"), refused.stderr)
    }

    /// The same card (one serial number) in a reader of each station at
    /// once: exactly one installs; the other is refused with its own exit
    /// code, and its tree is never written.
    func testTwoStationsRacingOnOneCardExactlyOneInstalls() throws {
        let a = try station("line-a", readers: "0", url: database.url, ["--max-cards", "1"])
        let b = try station("line-b", readers: "2", url: database.url, ["--max-cards", "1"])
        // Each card holds its first command until the other station has sent
        // its own, so both are read while the other is, whatever the load.
        let bothTaken = DispatchGroup()
        bothTaken.enter()
        bothTaken.enter()
        let metInTime = Mutex(true)
        let holdFirstCommand: @Sendable (Int) -> Bool = { number in
            guard number == 1 else { return true }
            bothTaken.leave()
            if bothTaken.wait(timeout: .now() + 30) == .timedOut { metInTime.withLock { $0 = false } }
            return true
        }
        func heldCard() throws -> VirtualCard {
            let card = try VirtualCard(profile: BuiltInProfiles.demo)
            card.shouldContinue = holdFirstCommand
            return card
        }
        let first = try Rig.insert(try heldCard(), slot: 0)
        defer { try? Rig.remove(first, slot: 0) }
        let second = try Rig.insert(try heldCard(), slot: 2)
        defer { try? Rig.remove(second, slot: 2) }
        let stoppedA = try a.finish(), stoppedB = try b.finish()
        XCTAssertTrue(metInTime.withLock { $0 }, "both stations were reading their card at once")
        XCTAssertEqual(stoppedA.status, 0, stoppedA.stderr)
        XCTAssertEqual(stoppedB.status, 0, stoppedB.stderr)

        let stored = try records()
        XCTAssertEqual(stored.map(\.outcome).sorted { $0.rawValue < $1.rawValue }, [.alreadyProvisioned, .provisioned])
        let loser = try XCTUnwrap(stored.first { $0.outcome == .alreadyProvisioned })
        let winner = try XCTUnwrap(stored.first { $0.outcome == .provisioned })
        XCTAssertEqual(loser.exitCode, 100)
        XCTAssertEqual(loser.cardIdentity, winner.cardIdentity, "one card")
        XCTAssertEqual(winner.pkcs15Serial, "44454D4F0001")
        let trees = (try? FileManager.default.contentsOfDirectory(atPath: path(loser.stationID, "trees"))) ?? []
        XCTAssertEqual(trees, [], "the refused card's tree was not touched")
        let log = try StationLogLine.parse(file: path(loser.stationID, "log.jsonl"))
        XCTAssertEqual(log.map(\.outcome), ["alreadyProvisioned"])
        XCTAssertEqual(log.map(\.exitCode), [100])
        XCTAssertEqual(log.first?.cardIdentity, winner.cardIdentity, "the log names the refused card")
    }

    /// One card put back twice after it was provisioned: the database
    /// refuses it both times (exit 100), and two refusals in a row do not stop
    /// a line whose --max-consecutive-failures is two: a duplicate is the
    /// line working, not failing (dmboot(1), station).
    func testCardsRefusedAsAlreadyProvisionedDoNotStopTheLine() throws {
        let line = try station("line-a", readers: "0", url: database.url,
                               ["--max-cards", "3", "--max-consecutive-failures", "2"])
        for insertion in 1...3 {
            let card = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 0)
            try waitUntil("log line \(insertion)") { lines("line-a") == insertion }
            try Rig.remove(card, slot: 0)
        }
        let stopped = try line.finish()
        XCTAssertEqual(stopped.status, 0, "not 16: \(stopped.stderr)")
        XCTAssertFalse(stopped.stderr.contains("stopped the line"), stopped.stderr)
        let log = try StationLogLine.parse(file: path("line-a", "log.jsonl"))
        XCTAssertEqual(log.map(\.outcome), ["provisioned", "alreadyProvisioned", "alreadyProvisioned"])
        XCTAssertEqual(log.map(\.exitCode), [0, 100, 100])
    }

    /// The database is stopped the way a crash would (no checkpoint) while
    /// cards go through, and started again: the station never stops, says
    /// it spools, and delivers every record exactly once when it is back.
    func testTheDatabaseKilledMidRunAndRestartedLosesNoRecord() throws {
        let server = ["DMBOOT_PG_STATE": folder.appendingPathComponent("pg").path]
        let url = try script("pg-start.sh", ["--no-fsync"], environment: server)
        defer { _ = try? script("pg-stop.sh", ["--remove"], environment: server) }
        let line = try station("line-a", readers: "0,1", url: url)
        let feeding = try feeder(10, slots: 0..<2)
        try waitUntil("2 cards") { lines("line-a") >= 2 }
        _ = try script("pg-stop.sh", ["--immediate"], environment: server)
        let atStop = lines("line-a")
        try waitUntil("3 cards during the outage") { lines("line-a") >= atStop + 3 }
        _ = try script("pg-start.sh", ["--no-fsync"], environment: server)
        let fed = try feeding.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        let spool = ResultSpool(directory: path("line-a", "state") + "/dmboot/spool")
        try waitUntil("the spool delivered") { lines("line-a") == 10 && spool.count == 0 }
        line.signal(SIGTERM)
        let stopped = try line.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("results are spooled"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("results database is back"), stopped.stderr)

        let stored = try ResultsStore(connection: PostgresConnection(url: url)).records(ResultsFilter())
        XCTAssertEqual(stored.count, 10, "every card once")
        XCTAssertEqual(Set(stored.map(\.recordID)).count, 10)
        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(Set(stored.compactMap(\.cardIdentity)), Set(cards.compactMap(\.identity)))
        XCTAssertTrue(stored.allSatisfy { $0.outcome == .provisioned })
    }

    /// SIGKILL while the database is unreachable: every record the station
    /// spooled is a whole file, and `results flush` delivers each once.
    func testTheSpoolSurvivesSIGKILLOfTheStation() throws {
        let line = try station("line-a", readers: "0,1", url: TestDatabase.unreachable)
        try line.waitUntilWatching()
        let feeding = try feeder(8, slots: 0..<2, ["--untouched-timeout", "2"])
        try waitUntil("3 cards") { lines("line-a") >= 3 }
        line.signal(SIGKILL)
        _ = try line.finish()
        feeding.signal(SIGTERM)
        _ = try feeding.finish()

        let spool = ResultSpool(directory: path("line-a", "state") + "/dmboot/spool")
        let spooled = try spool.pending()
        XCTAssertEqual(spooled.unreadable, [], "no spool file was left half-written")
        XCTAssertGreaterThanOrEqual(spooled.records.count, lines("line-a"), "each logged card was spooled first")
        XCTAssertTrue(spooled.records.allSatisfy { $0.outcome == .provisioned && $0.stationID == "line-a" })
        let known = try KnownCards(path: path("line-a", "state") + "/dmboot/provisioned-cards").load()
        XCTAssertTrue(Set(spooled.records.compactMap(\.cardIdentity)).isSubset(of: known),
                      "a spooled card is known before its record is written")

        let flushed = try Executable.run("dmboot", ["results", "flush", "--results", database.url, "--json"],
                                         environment: state("line-a"))
        XCTAssertEqual(flushed.status, 0, flushed.stderr)
        // The cards in flight at the kill are settled from their install intents (issue 25 item 2).
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(flushed.stdout.utf8)) as? [String: Any])
        let settled = ((report["settledProvisioned"] as? [String]) ?? []) + ((report["settledFailed"] as? [String]) ?? [])
        let stored = try records()
        XCTAssertEqual(stored.count, spooled.records.count + settled.count)
        XCTAssertTrue(Set(spooled.records.map(\.recordID)).isSubset(of: Set(stored.map(\.recordID))))
        XCTAssertTrue(stored.allSatisfy { $0.cardIdentity != nil }, "every record names its card")
        XCTAssertEqual(Set(stored.compactMap(\.cardIdentity)).count, stored.count, "one record per card")
        XCTAssertEqual(spool.count, 0)
        XCTAssertEqual(try spool.intents().intents, [])
    }

    /// provision: a card with a successful record is refused (exit 100, tree
    /// untouched) unless --allow-reprovision, which the record then says;
    /// the station id defaults to the host name. Without --results nothing
    /// of the results machinery is touched.
    func testProvisionRefusesACardAlreadyProvisionedUnlessReprovisionIsAllowed() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        func provision(_ tree: String, _ extra: [String]) throws -> Executable.Result {
            try Executable.run("dmboot", ["provision", "--reader", Rig.slots[1].reader, "--keys", keys, "--tree",
                                          folder.appendingPathComponent(tree).path] + extra, environment: state("bench"))
        }
        let plain = try provision("plain.sqlite", [])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bench", "state") + "/dmboot"), "no --results: no spool")

        XCTAssertEqual(try provision("first.sqlite", ["--results", database.url]).status, 0)
        let refused = try provision("second.sqlite", ["--results", database.url])
        XCTAssertEqual(refused.status, 100, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("already provisioned by station \(ProcessInfo.processInfo.hostName)"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("second.sqlite").path))
        let again = try provision("second.sqlite", ["--results", database.url, "--allow-reprovision", "--station-id", "rework"])
        XCTAssertEqual(again.status, 0, again.stderr)

        let stored = try records()
        XCTAssertEqual(stored.map(\.outcome), [.provisioned, .alreadyProvisioned, .provisioned])
        XCTAssertEqual(stored.map(\.reprovision), [false, false, true])
        XCTAssertEqual(stored.map(\.stationID), [ProcessInfo.processInfo.hostName, ProcessInfo.processInfo.hostName, "rework"])
        XCTAssertEqual(stored[1].failureClass, "alreadyProvisioned")
        XCTAssertEqual(stored[0].atr, BuiltInProfiles.demoATR)
    }
}
