import APDU
import APDUScript
import CardSimulator
import Foundation
import XCTest

/// apdu-shell changing a card through pcscd (issue 29): UPDATE BINARY under
/// the EF's access conditions, save, write-bootstrap, and the PIN commands
/// with their retry counters, against the simulator behind vpcd.
final class APDUShellChangeTests: XCTestCase {
    var scratch: DemoKeysFolder!
    var folder: URL { scratch.folder }
    var keys: String { scratch.keys }
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    override func setUpWithError() throws {
        scratch = try DemoKeysFolder(prefix: "changes")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
        for name in ["H29_PIN", "H29_WRONG", "H29_PUK", "H29_NEW", "H29_NEWER"] { unsetenv(name) }
    }

    /// The demo card with a 300-byte EF 2F10 that only SCP03 at level 33
    /// may update, an EF 2F11 that PIN 01 guards, and PIN 01 "1234" (3 tries, PUK "12345678").
    static var card: CardProfile {
        var profile = BuiltInProfiles.demo
        var guarded = FileNode(fid: "2F10", content: "", size: 300)
        guarded.updateLevel = "33"
        var pinned = FileNode(fid: "2F11", content: "00000000")
        pinned.updatePIN = "01"
        profile.files.children! += [guarded, pinned]
        profile.pkcs15?.updateLevel = "33"
        profile.pins = [PINProfile(reference: "01", value: "1234", tries: 3, puk: "12345678")]
        return profile
    }

    func withCard<T>(_ body: () throws -> T) throws -> T {
        let inserted = try Rig.insert(try VirtualCard(profile: Self.card), slot: 2)
        defer { try? Rig.remove(inserted, slot: 2) }
        return try body()
    }

    final class Lines { var all: [String] = [] }

    func interpreter(yes: Bool = true, reveal: Bool = false, lines: Lines = Lines()) -> ScriptInterpreter {
        var options = ScriptInterpreter.Options()
        options.reader = Rig.slots[2].reader
        options.keysFile = keys
        options.assumeYes = yes
        options.revealSecrets = reveal
        return ScriptInterpreter(options: options, write: { lines.all.append($0) })
    }

    func run(_ interpreter: ScriptInterpreter, _ script: String) throws {
        try interpreter.run(ScriptParser().parse(script, file: "test"))
    }

    func commands(_ interpreter: ScriptInterpreter) -> [String] {
        interpreter.transcript.flatMap(\.exchanges).map(\.command)
    }

    // MARK: update

    func testUpdateIsRefusedWithoutTheSecureChannelAndWritesInChunksUnderIt() throws {
        try withCard {
            let plain = interpreter()
            XCTAssertThrowsError(try run(plain, "cd 2F10\nupdate 0 01020304")) { error in
                XCTAssertTrue("\(error)".contains("6982"), "\(error)")
                XCTAssertTrue("\(error)".contains("nothing was written"), "\(error)")
            }
            let data = (0..<300).map { UInt8($0 & 0xFF) }
            let file = folder.appendingPathComponent("content.bin")
            try Data(data).write(to: file)
            let secure = interpreter(reveal: true)
            try run(secure, "cd 2F10\nscp03 open level 33\nupdate 0 file \(file.path)\nread all\nsave \(folder.path)/back.bin")
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("back.bin")), Data(data))
            // Each chunk is a wrapped UPDATE BINARY (CLA 04: secure messaging) whose offset is where the previous one ended.
            let updates = commands(secure).filter { $0.hasPrefix("04D6") }.map { String($0.prefix(8)) }
            // 239 bytes is what fits one short APDU at level 33 (padding to 240, plus the 8-byte C-MAC: Lc F8).
            XCTAssertEqual(updates, ["04D60000", "04D600EF"])
        }
    }

    func testAnUnconfirmedUpdateSendsNothing() throws {
        try withCard {
            let session = interpreter(yes: false)
            XCTAssertThrowsError(try run(session, "cd 2F11\nupdate 0 FF")) { error in
                guard case ScriptFailure.notConfirmed? = error as? ScriptFailure else {
                    return XCTFail("\(error)")
                }
            }
            XCTAssertFalse(commands(session).contains { $0.dropFirst(2).hasPrefix("D6") })
        }
    }

    func testUpdateOfAPINGuardedEFNeedsTheVerifiedPIN() throws {
        setenv("H29_PIN", "1234", 1)
        try withCard {
            XCTAssertThrowsError(try run(interpreter(), "cd 2F11\nupdate 2 AABB")) { error in
                XCTAssertTrue("\(error)".contains("6982"), "\(error)")
            }
            let session = interpreter()
            try run(session, "verify 01 env:H29_PIN\ncd 2F11\nupdate 2 AABB\nread binary 0 4")
            XCTAssertEqual(session.variables["response"], "0000AABB")
        }
    }

    func testUpdatePastTheEndOfTheEFIsTheCardsRefusal() throws {
        setenv("H29_PIN", "1234", 1)
        try withCard {
            XCTAssertThrowsError(try run(interpreter(), "verify 01 env:H29_PIN\ncd 2F11\nupdate 3 AABB")) { error in
                XCTAssertTrue("\(error)".contains("6700"), "\(error)")
            }
        }
    }

    // MARK: save

    func testSaveWritesTheLastReadOrAWholeEFOwnerOnly() throws {
        try withCard {
            let path = folder.appendingPathComponent("iccid.bin").path
            let tokenInfo = folder.appendingPathComponent("tokeninfo.der").path
            try run(interpreter(), "cat EF.ICCID\nsave \(path)\ncd PKCS15\nsave \(tokenInfo) TokenInfo")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(try Hex.decode("98102143658709214365")))
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o600)
            let saved = try Data(contentsOf: URL(fileURLWithPath: tokenInfo))
            XCTAssertEqual(saved.first, 0x30, "TokenInfo is a DER SEQUENCE")
        }
    }

    func testSaveRefusesWhatTheCardEncryptedUnlessRevealed() throws {
        try withCard {
            let path = folder.appendingPathComponent("secret.bin").path
            XCTAssertThrowsError(try run(interpreter(), "cd PKCS15\nscp03 open\ncat \"DM bootstrap: demo server\"\nsave \(path)")) { error in
                XCTAssertTrue("\(error)".contains("--reveal-secrets"), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
    }

    // MARK: write-bootstrap

    func testWriteBootstrapReplacesTheDocumentThatDmbootThenReads() throws {
        try withCard {
            let document = Self.fixtures.appendingPathComponent("bootstrap/dm12-x509.wbxml").path
            let session = interpreter()
            // The shell holds the card while its secure channel is open (issue 24 item 6): it lets go for dmboot.
            try run(session, "cd PKCS15\nscp03 open\nwrite-bootstrap \"DM bootstrap: demo server\" \(document)\ndisconnect")
            let read = try Executable.run("dmboot", ["read", "--reader", Rig.slots[2].reader, "--keys", keys, "--json"])
            XCTAssertEqual(read.status, 0, read.stderr)
            // dmboot finds the new document's end in the FF-padded EF: 922 bytes, the fixture's size.
            XCTAssertTrue(read.stdout.contains("\"size\" : 922"), read.stdout)
            let lines = Lines()
            try run(interpreter(reveal: true, lines: lines), "cd PKCS15\nscp03 open\ncat \"DM bootstrap: demo server\"\ndecode bootstrap")
            XCTAssertTrue(lines.all.contains { $0.contains("backup-dm") }, lines.all.joined(separator: "\n"))
            XCTAssertFalse(lines.all.contains { $0.contains("dmboot-demo-server") }, "the old document's tail is padded away")
        }
    }

    func testWriteBootstrapRefusesADocumentLargerThanTheEF() throws {
        try withCard {
            // 2560 bytes of EF; this XML is larger once padded with a comment.
            var xml = try String(contentsOf: Self.fixtures.appendingPathComponent("bootstrap/dm12-psk.xml"), encoding: .utf8)
            xml += "<!--" + String(repeating: "x", count: 3000) + "-->"
            let big = folder.appendingPathComponent("big.xml")
            try xml.write(to: big, atomically: true, encoding: .utf8)
            let session = interpreter()
            XCTAssertThrowsError(try run(session, "cd PKCS15\nscp03 open\nwrite-bootstrap \"DM bootstrap: demo server\" \(big.path)")) { error in
                guard case ScriptFailure.documentTooLarge(_, let size, let capacity)? = error as? ScriptFailure else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(capacity, 2560)
                XCTAssertGreaterThan(size, 2560)
            }
            XCTAssertFalse(commands(session).contains { $0.dropFirst(2).hasPrefix("D6") }, "nothing was written")
        }
    }

    func testWriteBootstrapRefusesWhatIsNotABootstrap() throws {
        try withCard {
            let junk = folder.appendingPathComponent("junk.bin")
            try Data([0x03, 0x01, 0x6A, 0x00, 0x45, 0xFF]).write(to: junk)
            XCTAssertThrowsError(try run(interpreter(), "cd PKCS15\nscp03 open\nwrite-bootstrap \"DM bootstrap: demo server\" \(junk.path)"))
        }
    }

    // MARK: PINs

    func testAWrongPINShowsTheTriesLeftIsNeverRetriedAndTheLastTryNeedsAYes() throws {
        setenv("H29_WRONG", "9999", 1)
        try withCard {
            let lines = Lines()
            let first = interpreter(lines: lines)
            XCTAssertThrowsError(try run(first, "verify 01 env:H29_WRONG")) { error in
                guard case ScriptFailure.pinRefused(0x01, 2, false)? = error as? ScriptFailure else {
                    return XCTFail("\(error)")
                }
            }
            XCTAssertTrue(lines.all.contains("PIN 01: 3 tries left"), lines.all.joined(separator: "\n"))
            // One VERIFY without data (the counter), one with: no second try.
            XCTAssertEqual(commands(first).filter { $0.hasPrefix("002000") }.count, 2)
            try? run(interpreter(), "verify 01 env:H29_WRONG")
            let careful = interpreter(yes: false)
            XCTAssertThrowsError(try run(careful, "verify 01 env:H29_WRONG")) { error in
                guard case ScriptFailure.notConfirmed? = error as? ScriptFailure else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(commands(careful), ["00200001"], "only the counter was asked")
            XCTAssertThrowsError(try run(interpreter(), "verify 01 env:H29_WRONG")) { error in
                guard case ScriptFailure.pinBlocked(0x01)? = error as? ScriptFailure else { return XCTFail("\(error)") }
            }
            let blocked = interpreter()
            XCTAssertThrowsError(try run(blocked, "verify 01 env:H29_WRONG"))
            XCTAssertEqual(commands(blocked), ["00200001"], "a blocked PIN is never tried")
        }
    }

    func testUnblockWithThePUKThenChangeThePIN() throws {
        setenv("H29_WRONG", "9999", 1)
        setenv("H29_PUK", "12345678", 1)
        setenv("H29_NEW", "4321", 1)
        setenv("H29_NEWER", "567890", 1)
        try withCard {
            for _ in 1...3 { try? run(interpreter(), "verify 01 env:H29_WRONG") }
            XCTAssertThrowsError(try run(interpreter(), "unblock-pin 01 env:H29_WRONG env:H29_NEW")) { error in
                guard case ScriptFailure.pinRefused(0x01, 9, true)? = error as? ScriptFailure else {
                    return XCTFail("\(error)")
                }
            }
            try run(interpreter(), "unblock-pin 01 env:H29_PUK env:H29_NEW\nverify 01 env:H29_NEW")
            try run(interpreter(), "change-pin 01 env:H29_NEW env:H29_NEWER")
            // The card keeps a verified PIN until it is reset (ISO/IEC 7816-4 security status).
            XCTAssertThrowsError(try run(interpreter(), "connect\nreset\nverify 01 env:H29_NEW"))
            try run(interpreter(), "connect\nreset\nverify 01 env:H29_NEWER")
        }
    }

    /// The PIN is in no line of the transcript, its wire record or the trace.
    func testPINsStayOutOfTheTranscriptAndTrace() throws {
        setenv("H29_PIN", "1234", 1)
        setenv("H29_NEW", "4321", 1)
        try withCard {
            let lines = Lines()
            var options = ScriptInterpreter.Options()
            options.reader = Rig.slots[2].reader
            options.keysFile = keys
            options.assumeYes = true
            options.trace = true
            let session = ScriptInterpreter(options: options, write: { lines.all.append($0) })
            try run(session, "scp03 open level 01\nverify 01 env:H29_PIN\nchange-pin 01 env:H29_PIN env:H29_NEW")
            let pin = Hex.encode(Array("1234".utf8)), new = Hex.encode(Array("4321".utf8))
            let recorded = lines.all + session.transcript.flatMap { $0.wire + $0.output + $0.exchanges.map(\.command) }
            XCTAssertFalse(recorded.contains { $0.uppercased().contains(pin) || $0.uppercased().contains(new) },
                           recorded.joined(separator: "\n"))
            XCTAssertTrue(lines.all.contains { $0.contains("VERIFY 00200001 <8 bytes of PIN data, not shown>") },
                          lines.all.joined(separator: "\n"))
        }
    }

    /// At a terminal: the PIN is asked with echo off, never shows, and is in no history line (pty_pin.py).
    func testAtATerminalThePINIsNotEchoedNorKept() throws {
        let history = folder.appendingPathComponent("history").path
        let session = try withCard {
            try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), [
                APDUShellTests.repository.appendingPathComponent("Tests/IntegrationTests/pty_pin.py").path,
                Executable.productsDirectory.appendingPathComponent("apdu-shell").path, history, Rig.slots[2].reader])
        }
        XCTAssertEqual(session.status, 0, session.stdout + session.stderr)
    }
}
