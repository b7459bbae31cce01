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
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
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
        XCTAssertTrue(lines.contains("< 98102143658709214365 90 00: normal processing"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("pseudo-random challenge verified") })
        XCTAssertTrue(lines.contains("< <redacted 2560 bytes> (2560 bytes in 11 READ BINARY; --reveal-secrets shows them)"), lines.joined(separator: "\n"))
        XCTAssertEqual(lines.last, "98102143658709214365 / 9000 / <redacted 2560 bytes>")
        XCTAssertEqual(interpreter.transcript.count, 9)
    }

    /// Runs `script` in-process against `personality` in slot 1, with the key file `dmboot-sim` writes for it.
    func runScript(_ script: String, on personality: Personality, revealSecrets: Bool = false) throws -> [String] {
        let personalKeys = folder.appendingPathComponent("\(personality.rawValue)-keys.json").path
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--personality", personality.rawValue,
                                                     "--write-keys", personalKeys]).status, 0)
        var lines: [String] = []
        let interpreter = ScriptInterpreter(options: {
            var options = ScriptInterpreter.Options()
            options.reader = Rig.slots[1].reader
            options.keysFile = personalKeys
            options.revealSecrets = revealSecrets
            return options
        }(), write: { lines.append($0) })
        let inserted = try Rig.insert(try VirtualCard(profile: personality.profile), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        try interpreter.run(ScriptParser().parse(script, file: "inline"))
        return lines
    }

    /// The key file's "counter-data-only" reaches the shell's session: the
    /// quirky card's encrypted READ BINARY answers decrypt to the bootstrap
    /// the card holds (without it the ICV is one counter ahead and the first
    /// block of each answer decrypts to garbage).
    func testTheShellUsesTheKeyFileCompatibilitySetting() throws {
        let lines = try runScript("""
            select aid A000000063504B43532D3135 expect 9000
            scp03 open
            select fid 6001 expect 9000
            read all
            """, on: .counterQuirk, revealSecrets: true)
        let stored = try [UInt8](hex: XCTUnwrap(Personality.counterQuirk.profile.pkcs15?.objects.first?.content))
        let firstBlock = stored.prefix(16).map { Hex.encode([$0]) }.joined(separator: " ")
        XCTAssertTrue(lines.contains { $0.hasPrefix("  0000  \(firstBlock)") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("< 2560 bytes in 11 READ BINARY"), lines.joined(separator: "\n"))
    }

    /// A challenge computed from the AID as selected (right-truncated) does
    /// not match the card's, which uses its full AID: the shell says so and
    /// the session still opens, as GlobalPlatformPro's GPSession does.
    func testTheShellPrintsTheHandshakeWarnings() throws {
        let lines = try runScript("""
            select aid A000000063504B43532D3135 expect 9000
            scp03 open
            """, on: .truncatedAID)
        XCTAssertTrue(lines.contains { $0.hasPrefix("warning: the card's pseudo-random challenge does not match") },
                      lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("SCP03 open on channel 0: ") }, lines.joined(separator: "\n"))
    }

    /// Each CardScript runs through pcscd and shows what it is for.
    func testEveryCardScriptRunsAgainstTheVirtualCard() throws {
        let expected: [String: [String]] = [
            "branching.apdu": ["PKCS#15 application present", "the card returned an FCP template", "read 3: "],
            "card-identity.apdu": ["ICCID 89011234567890123456", "  serial 44454D4F0001", "protocols T=1"],
            "dm-bootstrap-walk.apdu": ["  EF.ICCID   2FE2  EF 2FE2 transparent, 10 bytes", "  ODF        5031",
                                       "\"DM bootstrap: demo server\"  6001", "DODF  5033",
                                       "oidDO \"DM bootstrap: demo server\" oid 2.23.43.7.1 (OMA DM bootstrap) at 6001",
                                       "./DMAcc/DemoServer  [syncml-dm]  ServerID dmboot-demo-server",
                                       "AppAuth/Cli/AAuthSecret  (chr)  <redacted 18 bytes>"],
            "key-information.apdu": ["  version 30 id 01  AES 16 bytes (AES-128)", "  ICFabricator=444D",
                                     "ISD: A000000151000000 (SECURED)", "APP: A000000063504B43532D3135 (SELECTABLE)"],
            "logical-channels.apdu": ["SCP03 open on channel 1: level 13", "channel 1 closed; current channel 0",
                                      "  0000  A7 06 30 04 04 02 50 33 FF FF FF FF FF FF FF FF  |..0...P3........|",
                                      "ICCID 89011234567890123456"],
            "read-dm-bootstrap.apdu": ["< <redacted 2560 bytes>", "AppAuth/Srv/AAuthSecret  (chr)  <redacted 18 bytes>"],
            "scp03-read-odf-dodf.apdu": ["DODF  5033", "oidDO \"DM bootstrap: demo server\""],
            "select-pkcs15.apdu": ["PKCS#15 application selected: FCP 62", "  84 DF name A000000063504B43532D3135"],
        ]
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("CardScripts").path)
            .filter { $0.hasSuffix(".apdu") }.sorted()
        XCTAssertEqual(scripts, expected.keys.sorted())
        try withDemoCard {
            for script in scripts {
                let result = try shell(["-f", Self.repository.appendingPathComponent("CardScripts/\(script)").path])
                XCTAssertEqual(result.status, 0, "\(script): \(result.stdout)\(result.stderr)")
                for text in expected[script] ?? [] {
                    XCTAssertTrue(result.stdout.contains(text), "\(script) does not show \(text):\n\(result.stdout)")
                }
                let domain = BuiltInProfiles.demoSecurityDomain
                XCTAssertFalse(result.stdout.contains(domain.enc) || result.stdout.contains(domain.mac), script)
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
        XCTAssertEqual(object["exitCode"] as? Int, 14)
        XCTAssertEqual(object["class"] as? String, "expectationFailed")
        XCTAssertEqual(object["ok"] as? Bool, false)
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
        let missing = try shell(["-f", "/nonexistent.apdu"])
        XCTAssertEqual(missing.status, 13)
        XCTAssertEqual(missing.stderr, "apdu-shell: cannot read the script /nonexistent.apdu: no such file\n")
    }

    func testAnInteractiveSessionCompletesAndRemembersHistory() throws {
        let session = try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), [
            Self.repository.appendingPathComponent("Tests/IntegrationTests/pty_session.py").path,
            Executable.productsDirectory.appendingPathComponent("apdu-shell").path, folder.appendingPathComponent("history").path])
        XCTAssertEqual(session.status, 0, session.stdout + session.stderr)
        // libedit encodes its history file with vis(3): the space is written as \040.
        XCTAssertTrue(try String(contentsOf: folder.appendingPathComponent("history"), encoding: .utf8).contains("one-two"))
    }
}
