import APDU
import APDUScript
import CardSimulator
import Foundation
import XCTest

/// apdu-shell as a card debugger (issue 18) through pcscd: the interpreter's
/// library calls, the executable's transcript, and a terminal session.
final class APDUShellDebuggerTests: XCTestCase {
    var folder: URL!
    var keys: String!

    override func setUpWithError() throws {
        let made = try DemoKeysFolder(prefix: "debugger")
        folder = made.folder
        keys = made.keys
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func withCard<T>(_ profile: CardProfile = BuiltInProfiles.demo, _ body: () throws -> T) throws -> T {
        let inserted = try Rig.insert(try VirtualCard(profile: profile), slot: 2)
        defer { try? Rig.remove(inserted, slot: 2) }
        return try body()
    }

    func run(_ script: String, reveal: Bool = false) throws -> (ScriptInterpreter, [String]) {
        final class Lines { var all: [String] = [] }
        let lines = Lines()
        var options = ScriptInterpreter.Options()
        options.reader = Rig.slots[2].reader
        options.keysFile = keys
        options.revealSecrets = reveal
        let interpreter = ScriptInterpreter(options: options, write: { lines.all.append($0) })
        try interpreter.run(ScriptParser().parse(script, file: "test"))
        return (interpreter, lines.all)
    }

    func testThePromptStateFollowsReaderChannelDirectoryAndSecureLevel() throws {
        try withCard {
            let (interpreter, _) = try run("connect\ncd PKCS15\ncd ODF")
            XCTAssertEqual(interpreter.state, "\(Rig.slots[2].reader) ch0 /PKCS15/ODF")
            XCTAssertTrue(interpreter.navigationNames.contains("DM bootstrap: demo server"))
            try interpreter.run(ScriptParser().parse("scp03 open level 13", file: "t"))
            XCTAssertEqual(interpreter.state, "\(Rig.slots[2].reader) ch0 /PKCS15/ODF scp03 13")
            // ISO/IEC 7816-4: P1 03 selects the parent of the current DF; from an EF that is the MF here.
            try interpreter.run(ScriptParser().parse("cd ..", file: "t"))
            XCTAssertEqual(interpreter.state, "\(Rig.slots[2].reader) ch0 / scp03 13")
        }
    }

    func testANameThatIsNotThereSaysSoAndSuggests() throws {
        try withCard {
            XCTAssertThrowsError(try run("cd PKCS15\ncd TokenInf0")) { error in
                XCTAssertTrue("\(error)".contains("no file named \"TokenInf0\" here; did you mean TokenInfo?"), "\(error)")
            }
            XCTAssertThrowsError(try run("cd ODF")) { error in
                XCTAssertTrue("\(error)".contains("ODF is inside the PKCS#15 application: cd PKCS15 first"), "\(error)")
            }
        }
    }

    func testDecodingTheBootstrapRedactsSecretsUnlessRevealed() throws {
        try withCard {
            let (_, hidden) = try run("cd PKCS15\nscp03 open\ncat \"DM bootstrap: demo server\"\ndecode")
            XCTAssertTrue(hidden.contains("  AppAuth/Cli/AAuthSecret  (chr)  <redacted 18 bytes>"), hidden.joined(separator: "\n"))
            let (_, shown) = try run("cd PKCS15\nscp03 open\ncat \"DM bootstrap: demo server\"\ndecode", reveal: true)
            XCTAssertFalse(shown.contains { $0.contains("AAuthSecret") && $0.contains("redacted") }, shown.joined(separator: "\n"))
            XCTAssertTrue(shown.contains { $0.hasPrefix("  0000  ") }, "the revealed EF is dumped")
        }
    }

    /// Each channel has its own SCP03 session: channel 1's commands carry the
    /// class byte 05 (secure messaging, channel 1) while the card checks the
    /// C-MAC over 04, and channel 0's session goes on undisturbed.
    func testEachLogicalChannelKeepsItsFileAndSecureChannel() throws {
        try withCard {
            let (interpreter, lines) = try run("""
                cd PKCS15
                scp03 open level 13
                channel open
                cd PKCS15
                scp03 open level 33
                cd ODF
                channel 0
                cat TokenInfo
                channel 1
                cat
                """)
            XCTAssertTrue(lines.contains("SCP03 open on channel 0: level 13 (C-DECRYPTION, C-MAC, R-MAC), key version 30, i 70, pseudo-random challenge verified") || lines.contains { $0.hasPrefix("SCP03 open on channel 0: level 13") }, lines.joined(separator: "\n"))
            XCTAssertTrue(lines.contains { $0.hasPrefix("SCP03 open on channel 1: level 33") })
            XCTAssertTrue(lines.contains("  0000  30 24 02 01 00 04 06 44 45 4D 4F 00 01 0C 06 64  |0$.....DEMO....d|"), "TokenInfo in clear text on channel 0")
            XCTAssertTrue(lines.contains("< <redacted 24 bytes> (24 bytes in 1 READ BINARY; --reveal-secrets shows them)"), "ODF encrypted on channel 1")
            let onChannelOne = interpreter.transcript.flatMap(\.exchanges).filter { $0.channel == 1 }
            XCTAssertTrue(onChannelOne.contains { $0.command.hasPrefix("05B0") }, onChannelOne.map(\.command).joined(separator: " "))
            XCTAssertTrue(interpreter.transcript.flatMap(\.exchanges).contains { $0.channel == 0 && $0.command.hasPrefix("04B0") })
            // MANAGE CHANNEL went plain although channel 0 had a session (the
            // simulator refuses a wrapped one with 6882, as a Java Card runtime would).
            XCTAssertTrue(interpreter.transcript.flatMap(\.exchanges).contains { $0.channel == 0 && $0.command == "0070000001" })
            XCTAssertEqual(interpreter.state, "\(Rig.slots[2].reader) ch1 /PKCS15/ODF scp03 33")
        }
    }

    /// A card that refuses SELECT by AID with P2 04 (ISO/IEC 7816-4 table 40
    /// makes the FCP form optional): `cd` and `select aid` show the raw 6A86,
    /// fall back to the FCI as dmboot's reader does, and say so; with
    /// `expect` the raw answer to P2 04 is what is checked.
    func testSelectingAnApplicationFallsBackWhenTheCardRefusesTheFCPForm() throws {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        card.faults.refusedApplicationSelectForms = [0x04]
        let inserted = try Rig.insert(card, slot: 2)
        defer { try? Rig.remove(inserted, slot: 2) }
        let (interpreter, lines) = try run("""
            cd PKCS15
            cat ODF
            select aid A000000063504B43532D3135
            select aid A000000063504B43532D3135 expect 6A86
            """)
        let text = lines.joined(separator: "\n")
        XCTAssertEqual(lines.filter { $0 == "(the card refused SELECT with P2 04 (6A86); selected with P2 00, the fallback dmboot uses)" }.count, 2, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("< 6A 86:") }, text)
        let selects = interpreter.transcript.flatMap(\.exchanges).map(\.command).filter { $0.hasPrefix("00A404") }
        XCTAssertEqual(selects.map { String($0.prefix(8)) }, ["00A40404", "00A40400", "00A40404", "00A40400", "00A40404"], text)
    }

    func testGetResponseOffShowsTheRaw61xxOfAT0Card() throws {
        var profile = BuiltInProfiles.demo
        profile.responseChaining = .t0
        try withCard(profile) {
            let (_, lines) = try run("getresponse off\nselect fid 2FE2\nsend 00C0000010\ngetresponse on\nselect fid 2FE2")
            XCTAssertTrue(lines.contains("< 61 10: normal processing, 16 more bytes available with GET RESPONSE")
                          || lines.contains { $0.hasPrefix("< 61 10:") }, lines.joined(separator: "\n"))
            XCTAssertTrue(lines.contains { $0.hasPrefix("< 620E") && $0.hasSuffix("90 00: normal processing") }, lines.joined(separator: "\n"))
        }
    }

    func testStatusOpensTheSecureChannelItNeedsAndKeysNeedNone() throws {
        try withCard {
            let (interpreter, lines) = try run("keys\ncplc\nstatus")
            XCTAssertTrue(lines.contains("  version 30 id 03  AES 16 bytes (AES-128)"))
            XCTAssertTrue(lines.contains("(GET STATUS needs a secure channel; opening SCP03 at level 01 with the configured keys)"))
            XCTAssertTrue(lines.contains("ISD: A000000151000000 (SECURED)"), lines.joined(separator: "\n"))
            XCTAssertTrue(lines.contains("     Privs:   SecurityDomain, CardLock, CardTerminate, CardReset, CVMManagement, TrustedPath, AuthorizedManagement, TokenVerification, GlobalDelete, GlobalLock, GlobalRegistry, FinalApplication, ReceiptGeneration"))
            XCTAssertTrue(interpreter.state.hasSuffix("scp03 01"))
        }
        var profile = BuiltInProfiles.demo
        profile.scp03 = nil
        try withCard(profile) {
            XCTAssertThrowsError(try run("keys")) { error in
                XCTAssertTrue("\(error)".contains("GET DATA 00E0 (Key Information Template)"), "\(error)")
            }
        }
    }

    /// GET STATUS goes to the selected application, and only the ISD knows
    /// it: after `cd PKCS15` and a secure channel there, `status` selects the
    /// ISD first as GlobalPlatformPro's GPSession.discover does (SELECT with no
    /// AID, P2 00, the ISD's AID from tag 84), then opens the channel it needs.
    func testStatusSelectsTheIssuerSecurityDomainAfterAnotherApplication() throws {
        try withCard {
            let (interpreter, lines) = try run("cd PKCS15\nscp03 open level 33\nstatus\nstatus")
            let shown = lines.joined(separator: "\n")
            XCTAssertTrue(lines.contains("(selecting the issuer security domain ends the secure channel session)"), shown)
            XCTAssertEqual(lines.filter { $0 == "> 00A4040000" }.count, 1, "the second status stays in the ISD: \(shown)")
            XCTAssertEqual(lines.filter { $0 == "ISD: A000000151000000 (SECURED)" }.count, 2, shown)
            XCTAssertTrue(lines.contains { $0.hasPrefix("APP: ") && $0.contains("A000000063504B43532D3135") }, shown)
            XCTAssertEqual(interpreter.state, "\(Rig.slots[2].reader) ch0 /ISD scp03 01")
        }
    }

    func testTheJSONTranscriptGivesEachExchangeItsTimeReaderATRProtocolAndChannel() throws {
        let result = try withCard {
            try Executable.run("apdu-shell", ["--reader", Rig.slots[2].reader, "--keys", keys, "--json"],
                               stdin: "channel open\nselect fid 2FE2\n")
        }
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let steps = try XCTUnwrap(object["steps"] as? [[String: Any]])
        let exchange = try XCTUnwrap((steps.last?["exchanges"] as? [[String: Any]])?.first)
        XCTAssertEqual(exchange["reader"] as? String, Rig.slots[2].reader)
        XCTAssertEqual(exchange["atr"] as? String, BuiltInProfiles.demoATR)
        XCTAssertEqual(exchange["protocol"] as? String, "T=1")
        XCTAssertEqual(exchange["channel"] as? Int, 1)
        XCTAssertEqual((exchange["command"] as? String)?.prefix(4), "01A4")
        XCTAssertNotNil(ISO8601DateFormatter.withFractions.date(from: exchange["time"] as? String ?? ""))
    }

    func testScriptsAreCheckedWholeBeforeTheCardIsTouched() throws {
        let script = folder.appendingPathComponent("latin1.apdu")
        try Data(Array("cd PKCS15\necho caf".utf8) + [0xE9]).write(to: script)
        let result = try Executable.run("apdu-shell", ["--reader", Rig.slots[2].reader, "-f", script.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("latin1.apdu:2: byte E9 at column 9 is not UTF-8"), result.stderr)
        let empty = try Executable.run("apdu-shell", ["--reader", Rig.slots[2].reader], stdin: "# nothing\r\n")
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("no executable step"), empty.stderr)
    }

    /// A person at a terminal: the prompt, completion of names and quoted
    /// reader names, Ctrl-C on a line and on a running command, history, ^D.
    func testAnInteractiveDebuggingSession() throws {
        let session = try withCard {
            try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), [
                APDUShellTests.repository.appendingPathComponent("Tests/IntegrationTests/pty_debugger.py").path,
                Executable.productsDirectory.appendingPathComponent("apdu-shell").path,
                folder.appendingPathComponent("history").path, Rig.slots[2].reader, keys])
        }
        XCTAssertEqual(session.status, 0, session.stdout + session.stderr)
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format
    }
}
