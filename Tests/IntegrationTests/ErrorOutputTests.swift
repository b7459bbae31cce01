import CardSimulator
import Foundation
import XCTest

/// How dmboot fails (issue 17, "Errors and output"): one JSON object with
/// --json for every failure, messages that say what to do, one exit-code
/// contract for dmboot and apdu-shell.
final class ErrorOutputTests: XCTestCase {
    static let noPCSCD = ["PCSCLITE_CSOCK_NAME": "/tmp/dmboot-no-pcscd.comm"]

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The single JSON object a failing command wrote on stdout.
    func failure(_ result: Executable.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                   "stdout is not one JSON object: \(result.stdout)", file: file, line: line)
        XCTAssertEqual(object["ok"] as? Bool, false, file: file, line: line)
        XCTAssertEqual(object["exitCode"] as? Int, Int(result.status), file: file, line: line)
        XCTAssertFalse(result.stderr.isEmpty, "the message is on stderr too", file: file, line: line)
        return object
    }

    func testReadersWithoutPCSCDAnswersInJSONAndSaysHowToStartTheService() throws {
        let result = try Executable.run("dmboot", ["readers", "--json"], environment: Self.noPCSCD)
        XCTAssertEqual(result.status, 3)
        let object = try failure(result)
        XCTAssertEqual(object["class"] as? String, "serviceUnavailable")
        let message = try XCTUnwrap(object["message"] as? String)
        XCTAssertTrue(message.contains("systemctl start pcscd.socket"), message)
        XCTAssertTrue(result.stderr.contains("systemctl start pcscd.socket"), result.stderr)
    }

    func testEveryKindOfFailureIsOneJSONObjectWithJSON() throws {
        let usage = try Executable.run("dmboot", ["card", "info", "--json", "--no-such-flag"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertEqual(try failure(usage)["class"] as? String, "usage")

        let missingFile = try Executable.run("dmboot", ["decode", "/nonexistent.wbxml", "--json"])
        XCTAssertEqual(missingFile.status, 13)
        XCTAssertEqual(try failure(missingFile)["class"] as? String, "fileError")

        let tree = folder.appendingPathComponent("none.sqlite").path
        let noTree = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--json"])
        XCTAssertEqual(noTree.status, 50)
        XCTAssertEqual(try failure(noTree)["class"] as? String, "treeStore")

        let card = try Executable.run("dmboot", ["card", "info", "--reader", "Omnikey", "--json"])
        XCTAssertEqual(card.status, 5)
        XCTAssertEqual(try failure(card)["class"] as? String, "readerNotFound")
    }

    func testWithoutJSONNothingIsWrittenOnStdoutOnFailure() throws {
        let result = try Executable.run("dmboot", ["readers"], environment: Self.noPCSCD)
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "")
    }

    func testTheExitCodeContractIsListedWithTheShellsCodes() throws {
        let result = try Executable.run("dmboot", ["exit-codes", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let codes = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let classes = Dictionary(uniqueKeysWithValues: codes.map { ($0["class"] as? String ?? "", $0["code"] as? Int ?? -1) })
        XCTAssertEqual(classes["expectationFailed"], 14)
        XCTAssertEqual(classes["fileError"], 13)
        XCTAssertEqual(Set(codes.compactMap { $0["code"] as? Int }).count, codes.count, "every code is distinct")

        let shell = try Executable.run("apdu-shell", ["-f", "/nonexistent.apdu"])
        XCTAssertEqual(shell.status, 13, shell.stderr)
        let noPCSCD = try Executable.run("apdu-shell", ["--json"], environment: Self.noPCSCD,
                                         stdin: "select aid A000000063504B43532D3135\n")
        XCTAssertEqual(noPCSCD.status, 3, "as dmboot: serviceUnavailable")
    }
}
