import CardSimulator
import Foundation
import TestSupport
import XCTest

/// The station as a line supervisor needs it (issue 17, "Safety and the
/// factory line"), through pcscd with cards fed by `dmboot-sim --feed`
/// or inserted by the test.
final class StationLineTests: StationTestCase {
    func logLines() throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testWrongKeysStopTheLineAfterThreeCardsWithOneAuthenticationEach() throws {
        let domain = BuiltInProfiles.demoSecurityDomain
        let wrong = path("wrong-keys.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: wrong, contents: Data(#"""
            {"kvn": "\#(domain.kvn)", "enc": "\#(domain.mac)", "mac": "\#(domain.enc)", "dek": "\#(domain.dek)"}
            """#.utf8), attributes: [.posixPermissions: 0o600]))
        let station = try station(["--summary", path("summary.json")], keys: wrong)
        try station.waitUntilWatching()
        let feeder = try feeder(6, slots: 0..<1, ["--untouched-timeout", "2"])
        let stopped = try station.finish()
        let fed = try feeder.finish()
        XCTAssertEqual(stopped.status, 16, stopped.stderr)
        let reason = stopped.stderr.split(separator: "\n").filter { $0.contains("stopped the line") }
        XCTAssertEqual(reason.count, 1, stopped.stderr)
        XCTAssertTrue(reason[0].contains("3 cards in a row failed with cardNotAuthenticated (20)"), stopped.stderr)
        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(cards.filter { $0.commands > 0 }.count, 3, "no card after the third failure is touched")
        XCTAssertTrue(cards.allSatisfy { $0.externalAuthenticates <= 1 }, "never more than one EXTERNAL AUTHENTICATE per card")
        XCTAssertEqual(try logLines().map { $0["outcome"] as? String }, Array(repeating: "cardNotAuthenticated", count: 3))
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("summary.json"))))
                                    as? [String: Any])
        XCTAssertEqual(summary["exitCode"] as? Int, 16)
        XCTAssertEqual((summary["stoppedTheLine"] as? [String: Any])?["cards"] as? Int, 3)
    }

    /// A second batch fed with --first-card and --iccid-prefix gets cards of
    /// its own: the station provisions every one, none is a duplicate.
    func testASecondBatchFromAFirstCardNumberIsNotDuplicates() throws {
        let station = try station(["--max-cards", "4", "--summary", path("summary.json")])
        try station.waitUntilWatching()
        let first = try feeder(2, slots: 0..<1).finish()
        let second = try feeder(2, slots: 0..<1, ["--first-card", "2", "--iccid-prefix", "8949"]).finish()
        let stopped = try station.finish()
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("4 card(s): 4 provisioned, 0 unchanged, 0 duplicate, 0 failed"), stopped.stdout)
        let cards = try FeederReport.parse(second.stdout)
        XCTAssertEqual(cards.map(\.card), [2, 3])
        XCTAssertEqual(cards.map(\.identity), ["iccid:89490000000000000002", "iccid:89490000000000000003"])
        XCTAssertEqual(cards.map(\.serialNumber), ["44454D4F00000002", "44454D4F00000003"])
    }

    func testReadersThatMatchNothingAndAOnceWithNothingToDoAreErrors() throws {
        let unknown = try Executable.run("dmboot", ["station", "--keys", keys, "--tree-dir", trees, "--readers", "Omnikey"])
        XCTAssertEqual(unknown.status, 5, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("no reader matches \"Omnikey\""), unknown.stderr)
        let idle = try Executable.run("dmboot", ["station", "--keys", keys, "--tree-dir", trees, "--once", "--json"])
        XCTAssertEqual(idle.status, 6, idle.stderr)
        XCTAssertTrue(idle.stderr.contains("nothing to do"), idle.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(idle.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["exitCode"] as? Int, 6)
    }

    /// The same card twice in one run is a duplicate, a card whose tree is
    /// already in --tree-dir is unchanged, a failed card is listed for a
    /// re-run, and every log line says which card, station, run and tree.
    func testEveryCardIsIdentifiedAndCountedByWhatHappenedToIt() throws {
        let summary = path("summary.json"), failedList = path("failed.tsv")
        var refusingProfile = BuiltInProfiles.demo
        refusingProfile.pkcs15?.serialNumber = "0000BAD00001"
        let station = try station(["--readers", "0,2", "--max-cards", "4", "--station-id", "line-7", "--summary", summary,
                                   "--failed-list", failedList])
        for count in 1...2 {
            let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 0)
            try waitUntil("card \(count) in the log") { ((try? self.logLines().count) ?? 0) == count }
            try Rig.remove(inserted, slot: 0)
        }
        let refusing = try VirtualCard(profile: refusingProfile)
        refusing.faults.refuseExternalAuthenticate = true
        let refusingSlot = try Rig.insert(refusing, slot: 2)
        try waitUntil("the refused card in the log") { ((try? self.logLines().count) ?? 0) == 3 }
        try Rig.remove(refusingSlot, slot: 2)
        let again = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 2)
        defer { try? Rig.remove(again, slot: 2) }
        let stopped = try station.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)

        let lines = try logLines()
        XCTAssertEqual(lines.map { $0["outcome"] as? String }, ["provisioned", "duplicate", "authenticationRefused", "duplicate"])
        let runs = Set(lines.compactMap { $0["runID"] as? String })
        XCTAssertEqual(runs.count, 1)
        for line in lines {
            XCTAssertEqual(line["atr"] as? String, BuiltInProfiles.demoATR)
            XCTAssertEqual(line["stationID"] as? String, "line-7")
            XCTAssertNotNil(line["dmbootVersion"] as? String)
            XCTAssertNotNil(line["milliseconds"] as? Double)
        }
        XCTAssertEqual(lines[0]["kvn"] as? Int, 0x30)
        XCTAssertTrue((lines[0]["tree"] as? String)?.hasPrefix("/") ?? false, "the tree path is absolute")
        // The refused card failed at EXTERNAL AUTHENTICATE, after EF.ICCID and
        // before TokenInfo: its line carries the ICCID read so far.
        XCTAssertEqual(lines[2]["iccid"] as? String, lines[0]["iccid"] as? String)
        XCTAssertNotNil(lines[2]["iccid"] as? String, "a card refused at authentication is logged with its ICCID")
        XCTAssertEqual(lines[2]["cardIdentity"] as? String, lines[0]["cardIdentity"] as? String)

        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])
        XCTAssertEqual(object["provisioned"] as? Int, 1)
        XCTAssertEqual(object["duplicates"] as? Int, 2)
        XCTAssertEqual(object["failures"] as? [String: Int], ["authenticationRefused": 1])
        XCTAssertEqual(object["stationID"] as? String, "line-7")
        XCTAssertTrue(stopped.stdout.contains("4 card(s): 1 provisioned, 0 unchanged, 2 duplicate, 1 failed (authenticationRefused×1)"),
                      stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("; yield 50.0 %; "), "1 of the 2 cards that count: \(stopped.stdout)")
        XCTAssertEqual(object["yieldPercent"] as? Double, 50)
        let failed = try String(contentsOfFile: failedList, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(failed.count, 2, "a header and the one failed card")
        XCTAssertTrue(failed[1].contains(BuiltInProfiles.demoATR) && failed[1].contains("authenticationRefused"), String(failed[1]))

        // Plain status lines carry the time, and the progress counts the cards.
        let stamped = stopped.stderr.split(separator: "\n").filter { $0.contains("card(s):") }
        XCTAssertFalse(stamped.isEmpty, stopped.stderr)
        XCTAssertTrue(stamped.allSatisfy { ISO8601DateFormatter.withFractionalSeconds.date(from: String($0.prefix { $0 != " " })) != nil },
                      stopped.stderr)
        XCTAssertTrue(stamped.last?.contains("0 of 4 to go") ?? false, stopped.stderr)
        XCTAssertTrue(stamped.last?.contains("4 card(s): 1 provisioned, 0 unchanged, 2 duplicate, 1 failed; yield 50.0 %") ?? false,
                      "the live view counts as the summary does: \(stopped.stderr)")
    }

    func testAnotherRunFindsTheCardsTreeAndCallsItUnchanged() throws {
        let first = try station(["--max-cards", "1"])
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        XCTAssertEqual(try first.finish().status, 0)
        let second = try station(["--once"])
        let result = try second.finish()
        try Rig.remove(inserted, slot: 1)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try logLines().map { $0["outcome"] as? String }, ["provisioned", "unchanged"])
        XCTAssertTrue(result.stderr.contains("unchanged (its tree already holds these accounts)"), result.stderr)
    }

    func testASecondInterruptStopsRightAfterTheCardInFlight() throws {
        let station = try station([])
        // The card in flight stops answering at its fifth command until both
        // interrupts were taken, so it is in flight for both whatever the load.
        let inFlight = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let held = try VirtualCard(profile: BuiltInProfiles.demo)
        held.shouldContinue = { number in
            guard number == 5 else { return true }
            inFlight.signal()
            _ = release.wait(timeout: .now() + 60)
            return true
        }
        let first = try Rig.insert(held, slot: 0)
        defer { try? Rig.remove(first, slot: 0) }
        XCTAssertEqual(inFlight.wait(timeout: .now() + 30), .success, "the station took the card")
        station.signal(SIGINT)
        try waitUntil("the first interrupt taken") { station.errorOutput.contains("stopping: finishing the cards in progress") }
        station.signal(SIGINT)
        try waitUntil("the second interrupt taken") { station.errorOutput.contains("stopping now") }
        let next = try VirtualCard(profile: BuiltInProfiles.demo)
        let untouched = next.counters
        let second = try Rig.insert(next, slot: 1)
        defer { try? Rig.remove(second, slot: 1) }
        release.signal()
        let stopped = try station.finish()
        XCTAssertEqual(stopped.status, 17, stopped.stderr)
        XCTAssertEqual(try logLines().map { $0["outcome"] as? String }, ["provisioned"], "the card in flight is finished")
        XCTAssertEqual(untouched.commands, 0, "no card after the card in flight")
    }
}

extension ISO8601DateFormatter {
    static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
