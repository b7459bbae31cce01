import Foundation
import XCTest

/// `dmboot decode` as a user runs it: output, redaction and exit codes.
final class DecodeCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")

    func temporary(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("decode-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testDecodeRedactsSecretsUnlessAskedAndExitsZero() throws {
        let file = Self.fixtures.appendingPathComponent("dm12-psk.wbxml").path
        let redacted = try Executable.run("dmboot", ["decode", file])
        XCTAssertEqual(redacted.status, 0, redacted.stderr)
        XCTAssertTrue(redacted.stdout.contains("AppAuth/Srv/AAuthSecret  (chr)  <redacted 18 bytes>"), redacted.stdout)
        XCTAssertFalse(redacted.stdout.contains("server-secret-7Qx2"))
        let revealed = try Executable.run("dmboot", ["decode", file, "--reveal-secrets", "--json"])
        XCTAssertTrue(revealed.stdout.contains("server-secret-7Qx2"))
    }

    func testStandardInputAndFormatSelection() throws {
        let xml = try String(contentsOf: Self.fixtures.appendingPathComponent("cp-w7.xml"), encoding: .utf8)
        let result = try Executable.run("dmboot", ["decode", "-", "--format", "cp", "--json"], stdin: xml)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"documentType\" : \"cp\""), result.stdout)
    }

    func testBrokenInputsExitWithTheirOwnCodes() throws {
        let truncated = try temporary(Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("dm12-psk.wbxml")).prefix(100)))
        let malformed = try Executable.run("dmboot", ["decode", truncated])
        XCTAssertEqual(malformed.status, 40, malformed.stderr)
        XCTAssertTrue(malformed.stderr.contains("truncated"), malformed.stderr)

        let invalid = try temporary(Array("""
        <SyncML><SyncBody><Add><Item><Target><LocURI>./DMAcc/x/AppAddr/1/Addr</LocURI></Target><Data>nope</Data></Item></Add></SyncBody></SyncML>
        """.utf8))
        let rejected = try Executable.run("dmboot", ["decode", invalid])
        XCTAssertEqual(rejected.status, 41, rejected.stderr)
        XCTAssertTrue(rejected.stderr.contains("x/ServerID: missing"), rejected.stderr)
        XCTAssertTrue(rejected.stderr.contains("x/AppAddr/1/Addr: \"nope\" is not an absolute URI"), rejected.stderr)

        XCTAssertEqual(try Executable.run("dmboot", ["decode", "/nonexistent.wbxml"]).status, 13)
        XCTAssertEqual(try Executable.run("dmboot", ["decode", truncated, "--format", "pdf"]).status, 2)
    }
}
