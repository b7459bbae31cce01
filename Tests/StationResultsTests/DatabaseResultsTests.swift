import CardResults
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
    func results(_ id: String) throws -> DatabaseResults {
        let station = try station(id)
        return DatabaseResults(recorder: try station.recorder(database.url),
                               context: RunContext(command: "station", stationID: id, dmbootVersion: "test"))
    }

    let request = AdmissionRequest(cardIdentity: "pkcs15:0102", pkcs15Serial: "0102", keyVersion: 0x30, accounts: ["A"])

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

    func testAnUnchangedTreeIsASuccessNotAFailure() throws {
        let a = try results("A")
        let claim = a.admission()
        try claim.admit(request)
        _ = try a.record(result(a.context, outcome: "unchanged"), claim: claim)
        let stored = try ResultsStore(connection: database.connect()).records(ResultsFilter())
        XCTAssertEqual(stored.map(\.outcome), [.unchanged])
        XCTAssertNil(stored.first?.failureClass)
    }
}
