import APDU
import APDUScript
import CardSimulator
import Foundation
import XCTest

/// apdu-shell and its interpreter against the virtual card through pcscd.
final class APDUShellTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var folder: URL!
    var keys: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        XCTAssertEqual(try Executable.run("dmboot", ["simulate", "--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func withDemoCard<T>(_ body: () throws -> T) throws -> T {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        return try body()
    }

    func shell(_ arguments: [String], stdin: String? = nil) throws -> Executable.Result {
        try Executable.run("apdu-shell", ["--reader", Rig.slots[1].reader, "--keys", keys] + arguments, stdin: stdin)
    }

    func testTheInterpreterRunsSelectReadsVariablesAndExpectations() throws {
        var lines: [String] = []
        let interpreter = ScriptInterpreter(options: {
            var options = ScriptInterpreter.Options()
            options.reader = Rig.slots[1].reader
            options.keysFile = keys
            return options
        }(), write: { lines.append($0) })
        try withDemoCard {
            try interpreter.run(ScriptParser().parse("""
                select path 3F002FE2 expect 9000
                read binary 0 10 expect 9000
                set iccid $response
                select aid A000000063504B43532D3135
                expect 9000
                scp03 open
                select fid 6001 expect 9000
                read all
                echo $iccid / $sw / $response
                """, file: "inline"))
        }
        XCTAssertTrue(lines.contains("< 98102143658709214365 9000"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("pseudo-random challenge verified") })
        XCTAssertTrue(lines.contains("< <redacted 2560 bytes> (2560 bytes in 11 READ BINARY)"), lines.joined(separator: "\n"))
        XCTAssertEqual(lines.last, "98102143658709214365 / 9000 / <redacted 2560 bytes>")
        XCTAssertEqual(interpreter.transcript.count, 9)
    }

    func testEveryCardScriptRunsAgainstTheVirtualCard() throws {
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("CardScripts").path)
            .filter { $0.hasSuffix(".apdu") }.sorted()
        XCTAssertEqual(scripts.count, 4)
        try withDemoCard {
            for script in scripts {
                let result = try shell(["-f", Self.repository.appendingPathComponent("CardScripts/\(script)").path])
                XCTAssertEqual(result.status, 0, "\(script): \(result.stdout)\(result.stderr)")
            }
        }
    }

    func testAFailedExpectationStopsTheScriptAndSaysWhere() throws {
        let result = try withDemoCard {
            try shell([], stdin: "select aid A000000063504B43532D3135 expect 9000\nselect fid 7777 expect 9000\necho never\n")
        }
        XCTAssertEqual(result.status, 14, "dmboot exit-codes: expectationFailed")
        XCTAssertTrue(result.stderr.contains("<stdin> line 2: expected 9000, got 6A82 (error: file or application not found)"),
                      result.stderr)
        XCTAssertFalse(result.stdout.contains("never"))
    }

    func testTheJSONTranscriptRecordsEachStepAndNeverTheKeys() throws {
        let result = try withDemoCard {
            try shell(["--json"], stdin: "select aid A000000063504B43532D3135\nscp03 open\nselect fid 5033\nread all\nexpect 6A82\n")
        }
        XCTAssertEqual(result.status, 14)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["ok"] as? Bool, false)
        XCTAssertEqual(object["exitCode"] as? Int, 14)
        XCTAssertEqual(object["class"] as? String, "expectationFailed")
        let steps = try XCTUnwrap(object["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.map { $0["line"] as? Int }, [1, 2, 3, 4, 5])
        XCTAssertEqual(steps.last?["ok"] as? Bool, false)
        XCTAssertEqual(steps.last?["expected"] as? String, "6A82")
        let domain = BuiltInProfiles.demoSecurityDomain
        for secret in [domain.enc, domain.mac, domain.dek] {
            XCTAssertFalse(result.stdout.contains(secret) || result.stderr.contains(secret))
        }
    }

    func testMalformedScriptsTouchNoCardAndListTheirLines() throws {
        let script = folder.appendingPathComponent("bad.apdu")
        try Data("select aid A000\nsend 00A4 expect 9\nbogus\n".utf8).write(to: script)
        let result = try shell(["-f", script.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("bad.apdu:2:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("bad.apdu:3:"), result.stderr)
        XCTAssertFalse(result.stdout.contains("connected"))
        XCTAssertEqual(try shell(["-f", "/nonexistent.apdu"]).status, 13)
    }

    func testAnInteractiveSessionCompletesAndRemembersHistory() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.repository.appendingPathComponent("Tests/IntegrationTests/pty_session.py").path,
                             Executable.productsDirectory.appendingPathComponent("apdu-shell").path,
                             folder.appendingPathComponent("history").path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        // libedit encodes its history file with vis(3): the space is written as \040.
        XCTAssertTrue(try String(contentsOf: folder.appendingPathComponent("history"), encoding: .utf8).contains("one-two"))
    }
}
