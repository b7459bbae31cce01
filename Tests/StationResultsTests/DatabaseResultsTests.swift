import CardResults
import DMBootstrap
import DMTree
import Foundation
import Provisioning
import Results
import StationPipeline
import StationResults
import TestSupport
import XCTest

/// The pipeline's seams onto the results database: a card's admission
/// claims it, its result ends the claim, against a real PostgreSQL.
final class DatabaseResultsTests: DatabaseTestCase {
    func results(_ id: String, allowReprovision: Bool = false) throws -> DatabaseResults {
        let station = try station(id)
        return DatabaseResults(recorder: try station.recorder(database.url, allowReprovision: allowReprovision),
                               context: RunContext(command: "station", stationID: id, dmbootVersion: "test"))
    }

    let request = AdmissionRequest(cardIdentity: "pkcs15:0102", pkcs15Serial: "0102", keyVersion: 0x30, accounts: ["A"],
                                   treePath: "/nonexistent/pkcs15-0102.sqlite", installTime: Date(timeIntervalSince1970: 1_800_000_000))

    func result(_ context: RunContext, outcome: String = "provisioned", exitCode: Int32 = 0) -> CardResult {
        var result = CardResult(time: Date(), command: context.command, stationID: context.stationID, runID: context.runID,
                                reader: "R", outcome: outcome, failureClass: exitCode == 0 ? nil : outcome,
                                exitCode: exitCode, milliseconds: 10, dmbootVersion: "test")
        if exitCode == 0 {
            result.cardIdentity = request.cardIdentity
            result.added = ["A"]
        }
        result.atr = "3B00"
        return result
    }

    func testAnAdmittedCardIsRecordedOnceAndASecondStationIsRefused() throws {
        let a = try results("A"), b = try results("B")
        let claim = a.admission()
        try claim.admit(request)
        let (_, delivery) = try a.record(result(a.context), claim: claim)
        XCTAssertEqual(delivery, .stored)
        let refused = b.admission()
        XCTAssertThrowsError(try refused.admit(request)) { error in
            XCTAssertEqual((error as? AlreadyProvisioned)?.earlierStation, "A")
        }
        let failed = result(b.context, outcome: "alreadyProvisioned", exitCode: 100)
        let (recorded, _) = try b.record(failed, claim: refused)
        XCTAssertEqual(recorded.cardIdentity, "pkcs15:0102", "the refusal names the card it refused")
        XCTAssertEqual(recorded.kvn, 0x30)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(stored.map(\.outcome), [.provisioned, .alreadyProvisioned])
        XCTAssertEqual(stored.map(\.failureClass), [nil, "alreadyProvisioned"])
        XCTAssertEqual(stored.first?.atr, "3B00")
        XCTAssertEqual(stored.first?.stationID, "A")
    }

    /// A card that fails after its admission (a busy tree, say) releases
    /// its claim: the next station may install it.
    func testACardFailingAfterItsAdmissionReleasesItsClaim() throws {
        let a = try results("A"), b = try results("B")
        let claim = a.admission()
        try claim.admit(request)
        let (recorded, _) = try a.record(result(a.context, outcome: "treeBusy", exitCode: 51), claim: claim)
        XCTAssertEqual(recorded.cardIdentity, "pkcs15:0102")
        let next = b.admission()
        XCTAssertNoThrow(try next.admit(request))
        _ = try b.record(result(b.context), claim: next)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(stored.map(\.outcome), [.failed, .provisioned])
        XCTAssertEqual(stored.map(\.stationID), ["A", "B"])
    }

    /// Unchanged is a success. A first record of a card whose tree already
    /// held its accounts says provisioned (issue 25 item 2: the record of
    /// that install was lost); after an allowed reprovision it says unchanged.
    func testAnUnchangedTreeIsASuccessNotAFailure() throws {
        let a = try results("A")
        let claim = a.admission()
        try claim.admit(request)
        let (first, _) = try a.record(result(a.context, outcome: "unchanged"), claim: claim)
        XCTAssertEqual(first.outcome, "provisioned")
        XCTAssertEqual(first.warnings.count, 1)
        let b = try results("B", allowReprovision: true)
        let again = b.admission()
        try again.admit(request)
        _ = try b.record(result(b.context, outcome: "unchanged"), claim: again)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(stored.map(\.outcome), [.provisioned, .unchanged])
        XCTAssertEqual(stored.map(\.reprovision), [false, true])
        XCTAssertEqual(stored.map(\.failureClass), [nil, nil])
    }

    /// Issue 25 item 2: the intents a killed station left become records
    /// with the card's identity: provisioned when the tree holds the
    /// install, failed (interrupted) when it does not; the intent of a
    /// process still running is left to it.
    func testIntentsOfAKilledStationBecomeRecordsWithTheCardsIdentity() throws {
        let a = try results("A")
        let spool = a.recorder.settings.spool
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("intents-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let installTime = Date(timeIntervalSince1970: 1_800_000_000)
        let installed = folder.appendingPathComponent("iccid-1.sqlite").path
        let account = DMAccount(name: "A", source: .tnds, nodes: [
            DMNode(path: "AppID", format: .chr, value: Array("w7".utf8)),
            DMNode(path: "ServerID", format: .chr, value: Array("alpha".utf8)),
        ])
        _ = try TreeInstaller(path: installed, busyTimeout: 1).install(
            [account], provenance: Provenance(source: .smartcard, cardIdentity: "iccid:1", time: installTime), prune: true, dryRun: false)
        let dead = try deadPID()
        func intent(_ identity: String, tree: String, pid: pid_t) -> InstallIntent {
            var record = ResultRecord(cardIdentity: identity, stationID: "A", runID: a.context.runID, outcome: .provisioned,
                                      failureClass: nil, exitCode: 0, milliseconds: 0, dmbootVersion: "test", time: installTime)
            record.added = ["A"]
            return InstallIntent(record: record, tree: tree, installTime: installTime, pid: pid)
        }
        try spool.writeIntent(intent("iccid:1", tree: installed, pid: dead))
        try spool.writeIntent(intent("iccid:2", tree: folder.appendingPathComponent("iccid-2.sqlite").path, pid: dead))
        try spool.writeIntent(intent("iccid:3", tree: folder.appendingPathComponent("iccid-3.sqlite").path, pid: getpid()))

        let settlement = DatabaseResults.settleIntents(a.recorder)
        XCTAssertEqual(settlement.provisioned, ["iccid:1"])
        XCTAssertEqual(settlement.failed, ["iccid:2"])
        XCTAssertEqual(settlement.unsettled, [])
        XCTAssertEqual(try spool.intents().intents.compactMap(\.record.cardIdentity), ["iccid:3"], "a live process's intent stays")
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
            .sorted { ($0.cardIdentity ?? "") < ($1.cardIdentity ?? "") }
        XCTAssertEqual(stored.map(\.cardIdentity), ["iccid:1", "iccid:2"])
        XCTAssertEqual(stored.map(\.outcome), [.provisioned, .failed])
        XCTAssertEqual(stored.map(\.failureClass), [nil, "interrupted"])
        XCTAssertEqual(stored.map(\.added), [["A"], []])
        XCTAssertThrowsError(try a.admission().admit(AdmissionRequest(
            cardIdentity: "iccid:1", pkcs15Serial: "01", keyVersion: 0x30, accounts: ["A"], treePath: installed,
            installTime: Date()))) { error in
            XCTAssertTrue(error is AlreadyProvisioned, "\(error)")
        }
    }
}
