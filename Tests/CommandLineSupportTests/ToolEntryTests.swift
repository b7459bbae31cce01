import ArgumentParser
import CommandLineSupport
import ExitContract
import Foundation
import JSONOutput
import XCTest

final class ToolEntryTests: XCTestCase {
    struct Found: Encodable {
        let tree: String
        let servers: [String]
    }

    func object(_ value: some Encodable) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: try JSONOutput.document(value)) as? [String: Any])
    }

    func testAFailureIsItsExitCodeClassAndMessage() throws {
        let failure = try object(FailureReport(status: .treeStore, message: "no tree"))
        XCTAssertEqual(failure["ok"] as? Bool, false)
        XCTAssertEqual(failure["exitCode"] as? Int, 50)
        XCTAssertEqual(failure["class"] as? String, "treeStore")
        XCTAssertEqual(failure["message"] as? String, "no tree")
        XCTAssertEqual(failure.count, 4)
    }

    func testAReportWithAFailureIsOneObjectWithBoth() throws {
        let found = Found(tree: "/t.sqlite", servers: ["a"])
        let failed = try object(ReportWithFailure(found, failure: FailureReport(status: .serverUnreachable, message: "down")))
        XCTAssertEqual(Set(failed.keys), ["tree", "servers", "ok", "exitCode", "class", "message"])
        XCTAssertEqual(failed["tree"] as? String, "/t.sqlite")
        XCTAssertEqual(failed["exitCode"] as? Int, 80)
        let fine = try object(ReportWithFailure(found, failure: nil))
        XCTAssertEqual(Set(fine.keys), ["tree", "servers"])
    }

    func testJSONIsAskedForOnlyBeforeADoubleDash() {
        XCTAssertTrue(ToolEntry.asksForJSON(["card", "info", "--json", "--no-such-flag"]))
        XCTAssertFalse(ToolEntry.asksForJSON(["decode", "--", "--json"]))
        XCTAssertFalse(ToolEntry.asksForJSON(["decode", "--jsonx"]))
    }

    func testEveryLineOfAMessageAfterTheFirstIsIndented() {
        XCTAssertEqual(ToolEntry.indented("one\ntwo\n  three"), "one\n  two\n  three")
        XCTAssertEqual(ToolEntry.indented("single"), "single")
    }

    func testErrorsAreClassifiedByTheirOwnClassAndCommandLineAndFileErrorsByKind() {
        XCTAssertEqual(ToolEntry.status(of: ValidationError("--x takes y")), .usage)
        XCTAssertEqual(ToolEntry.status(of: CocoaError(.fileNoSuchFile)), .fileError)
        XCTAssertEqual(ToolEntry.status(of: JSONOutputError.notRepresentable(path: ".a", reason: "nan")), .internalError)
        struct Unclassified: Error {}
        XCTAssertEqual(ToolEntry.status(of: Unclassified()), .internalError, "an error no layer classified is a bug")
    }

    func testAFileErrorSaysItsPathAndReasonNotADictionary() {
        let error = CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: "/k.json", NSLocalizedDescriptionKey: "no such file"])
        XCTAssertEqual(ToolEntry.describe(error), "cannot read or write /k.json: no such file")
    }
}
