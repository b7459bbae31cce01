import APDU
import CardSimulator
import Foundation
import XCTest

/// `dmboot read` through pcscd against every fixture card profile.
final class ReadCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    var folder: URL!
    var keys: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("read-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        let written = try Executable.run("dmboot-sim", ["--write-keys", keys])
        XCTAssertEqual(written.status, 0, written.stderr)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func withCard<T>(_ profile: String, _ body: () throws -> T) throws -> T {
        let url = Self.fixtures.appendingPathComponent("cards/\(profile).json")
        let inserted = try Rig.insert(try VirtualCard(profile: CardProfile.load(from: url)), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        return try body()
    }

    func read(_ profile: String, _ extra: [String] = []) throws -> Executable.Result {
        try withCard(profile) {
            try Executable.run("dmboot", ["read", "--reader", Rig.slots[1].reader, "--keys", keys, "--json"] + extra)
        }
    }

    func report(_ result: Executable.Result) throws -> [String: Any] {
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func testEveryGoodProfileReadsThroughPCSCD() throws {
        // EF.ICCID (SELECT, READ) + EF(DIR) (SELECT, READ RECORD: its DDO may
        // move ODF and TokenInfo, PKCS#15 v1.1 5.4) + SELECT AID, IU, EA + 3
        // directory files + each document up to its end: the 2400- and
        // 4096-byte EFs hold 2275 bytes of WBXML, 10 reads of 239 rather than
        // 11 or 18. dir-only reads EF(DIR) after its AID is refused: no more.
        let expected: [(String, [String], Int)] = [
            ("one-dm", ["dm"], 2 + 2 + 3 + 6 + 1 + 4),
            ("two-dm", ["dm", "dm"], 2 + 2 + 3 + 6 + (1 + 10) + (1 + 4)),
            ("cp-and-dm", ["cp", "dm"], 2 + 2 + 3 + 6 + (1 + 2) + (1 + 4)),
            ("large-dm", ["dm"], 2 + 2 + 3 + 6 + 1 + 10),
            ("offset-length", ["dm"], 2 + 2 + 3 + 6 + 1 + 4),
            ("dir-only", ["dm"], 2 + 3 + 6 + 1 + 4 + 3),
        ]
        for (profile, kinds, apdus) in expected {
            let object = try report(try read(profile))
            let objects = try XCTUnwrap(object["objects"] as? [[String: Any]], profile)
            XCTAssertEqual(objects.map { $0["kind"] as? String }, kinds, profile)
            XCTAssertEqual(object["apduCount"] as? Int, apdus, profile)
            XCTAssertEqual(object["level"] as? String, "33", profile)
        }
    }

    /// The one-dm card with a bootstrap whose PortNbr is carried as chr
    /// digits: a warning (dmboot(1), VALIDATION), not an error.
    func lenientProfile() throws -> URL {
        try Data("""
        <SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Add><CmdID>1</CmdID>
        <Item><Target><LocURI>./DMAcc/Lenient/ServerID</LocURI></Target><Data>lenient</Data></Item>
        <Item><Target><LocURI>./DMAcc/Lenient/AppAddr/1/Addr</LocURI></Target><Data>https://l.example</Data></Item>
        <Item><Target><LocURI>./DMAcc/Lenient/AppAddr/1/Port/1/PortNbr</LocURI></Target><Data>8443</Data></Item>
        </Add></SyncBody></SyncML>
        """.utf8).write(to: folder.appendingPathComponent("lenient.xml"))
        return try FixtureCards.oneDM(bootstrap: "lenient.xml", label: "lenient", in: folder)
    }

    func testReadShowsTheValidationWarningsOfTheObjects() throws {
        let url = try lenientProfile()
        let inserted = try Rig.insert(try VirtualCard(profile: CardProfile.load(from: url)), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let json = try report(try Executable.run("dmboot", ["read", "--reader", Rig.slots[1].reader, "--keys", keys, "--json"]))
        let warnings = try XCTUnwrap(json["warnings"] as? [[String: Any]])
        XCTAssertEqual(warnings.map { $0["path"] as? String }, ["AppAddr/1/Port/1/PortNbr"])
        let text = try Executable.run("dmboot", ["read", "--reader", Rig.slots[1].reader, "--keys", keys])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stderr.contains("warning: Lenient/AppAddr/1/Port/1/PortNbr"), text.stderr)
    }

    func testExtendedLengthReadsEachFileInOneAPDU() throws {
        let object = try report(try read("large-dm", ["--extended-length", "on"]))
        XCTAssertEqual(object["apduCount"] as? Int, 2 + 2 + 3 + 4 * 2)
    }

    func testWrittenObjectsAreTheFixturesAndPrivate() throws {
        let out = folder.appendingPathComponent("out").path
        let object = try report(try read("cp-and-dm", ["--out", out]))
        let files = try XCTUnwrap(object["objects"] as? [[String: Any]]).compactMap { $0["file"] as? String }
        XCTAssertEqual(files.count, 2)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: files[0]))),
                       [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("bootstrap/cp-w7.wbxml"))))
        for file in files {
            let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, file)
        }
    }

    func testBrokenCardsExitWithTheirOwnCodes() throws {
        let cases: [(String, [String], Int32, String)] = [
            ("no-pkcs15", [], 31, "no PKCS#15 application"),
            ("no-dm", [], 32, "no DM bootstrap object"),
            ("outside-app", [], 30, "outside the PKCS#15 application"),
            ("short-file", [], 30, "declares 2000"),
            ("one-dm", ["--level", "13"], 11, "6982"),
        ]
        for (profile, extra, status, message) in cases {
            let result = try read(profile, extra)
            XCTAssertEqual(result.status, status, "\(profile): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(profile): \(result.stderr)")
        }
    }

    func testCardInfoShowsThePKCS15ObjectsWithoutKeys() throws {
        let result = try withCard("cp-and-dm") {
            try Executable.run("dmboot", ["card", "info", "--reader", Rig.slots[1].reader, "--json"])
        }
        let object = try report(result)
        let pkcs15 = try XCTUnwrap(object["pkcs15"] as? [String: Any])
        XCTAssertEqual(pkcs15["serialNumber"] as? String, "0000CAFE0001")
        let objects = try XCTUnwrap(pkcs15["objects"] as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["bootstrap"] as? String }, ["cp", "dm"])
    }

    /// `read --strict` refuses what provision --strict refuses, and writes
    /// nothing: a pseudo-random card challenge that does not match ends the
    /// handshake before EXTERNAL AUTHENTICATE (exit 20; without --strict a
    /// warning, as GlobalPlatformPro GPSession logs it), and a bootstrap with
    /// warnings is refused with exit 42.
    func testStrictRefusesAChallengeMismatchAndBootstrapWarningsAsProvisionDoes() throws {
        let out = folder.appendingPathComponent("strict-out").path
        func read(strict: Bool) throws -> Executable.Result {
            try Executable.run("dmboot", ["read", "--reader", Rig.slots[1].reader, "--keys", keys, "--json"]
                               + (strict ? ["--strict", "--out", out] : []))
        }
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        card.faults.challengeFromAnotherApplication = true
        let counters = card.counters
        let inserted = try Rig.insert(card, slot: 1)
        let lenient = try report(try read(strict: false))
        let cardWarnings = try XCTUnwrap(lenient["cardWarnings"] as? [String])
        XCTAssertTrue(cardWarnings.contains { $0.contains("pseudo-random challenge does not match") }, "\(cardWarnings)")
        let authenticatesBefore = counters.externalAuthenticates
        let mismatch = try read(strict: true)
        try Rig.remove(inserted, slot: 1)
        XCTAssertEqual(mismatch.status, 20, mismatch.stderr)
        let refusal = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(mismatch.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(refusal["class"] as? String, "cardNotAuthenticated")
        XCTAssertEqual(counters.externalAuthenticates, authenticatesBefore, "nothing is sent after INITIALIZE UPDATE")

        let withWarnings = try VirtualCard(profile: CardProfile.load(from: try lenientProfile()))
        let lenientCard = try Rig.insert(withWarnings, slot: 1)
        defer { try? Rig.remove(lenientCard, slot: 1) }
        XCTAssertEqual(try read(strict: false).status, 0)
        let refused = try read(strict: true)
        XCTAssertEqual(refused.status, 42, refused.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["class"] as? String, "strictRefusal")
        XCTAssertTrue(refused.stderr.contains("Lenient/AppAddr/1/Port/1/PortNbr"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a refused read writes no object")
    }
}
