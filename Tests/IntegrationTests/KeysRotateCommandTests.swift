import CardSimulator
import Foundation
import XCTest

/// `dmboot keys rotate` through pcscd (issue 29): the demo card moves from
/// its key set 30 to a new set 31, proven by a new session and recorded with
/// KCVs only; a rotation that cannot start leaves the card as it was.
final class KeysRotateCommandTests: XCTestCase {
    var scratch: DemoKeysFolder!
    static let newKeys = (enc: "000102030405060708090A0B0C0D0E0F", mac: "101112131415161718191A1B1C1D1E1F",
                          dek: "202122232425262728292A2B2C2D2E2F")

    override func setUpWithError() throws {
        scratch = try DemoKeysFolder(prefix: "rotate")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch.folder)
    }

    func keyFile(_ name: String, kvn: String) throws -> String {
        let path = scratch.folder.appendingPathComponent(name).path
        let json = #"{"kvn":"\#(kvn)","enc":"\#(Self.newKeys.enc)","mac":"\#(Self.newKeys.mac)","dek":"\#(Self.newKeys.dek)","mode":"S8"}"#
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600]))
        return path
    }

    func rotate(_ arguments: [String]) throws -> Executable.Result {
        try Executable.run("dmboot", ["keys", "rotate", "--reader", Rig.slots[1].reader] + arguments)
    }

    func testTheCardGetsTheNewKeysWhichOpenASessionAndTheLogHasKCVsOnly() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let next = try keyFile("new.json", kvn: "31")
        let log = scratch.folder.appendingPathComponent("rotations.jsonl").path
        let result = try rotate(["--from", scratch.keys, "--to", next, "--log", log, "--yes", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(record["holds"] as? String, "new")
        XCTAssertEqual(record["oldKeyVersion"] as? String, "30")
        XCTAssertEqual(record["newKeyVersion"] as? String, "31")
        // KCVs of the new keys as put_key_oracle.py (Python `cryptography`) computes them.
        XCTAssertEqual(record["newKCV"] as? [String: String], ["ENC": "C35280", "MAC": "013808", "DEK": "840DE5"])
        XCTAssertEqual(record["keyDiversificationData"] as? String, "44454D4F2D4341524430")
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(logged.split(separator: "\n").count, 1)
        for secret in [Self.newKeys.enc, Self.newKeys.mac, Self.newKeys.dek, BuiltInProfiles.demoSecurityDomain.dek] {
            XCTAssertFalse((logged + result.stdout + result.stderr).uppercased().contains(secret), "a key was written")
        }
        // Another tool's session: dmboot scp03 test opens with the new keys, and no longer with the old.
        let fresh = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", next])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        let stale = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", scratch.keys])
        XCTAssertNotEqual(stale.status, 0)
    }

    func testWrongCurrentKeysStopBeforePutKeyAndTheCardKeepsItsKeys() throws {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let counters = card.counters
        let inserted = try Rig.insert(card, slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let wrong = try keyFile("wrong.json", kvn: "30")
        let next = try keyFile("next.json", kvn: "31")
        let result = try rotate(["--from", wrong, "--to", next, "--yes", "--json"])
        XCTAssertEqual(result.status, 20, result.stdout + result.stderr)
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(record["holds"] as? String, "old")
        XCTAssertEqual(counters.externalAuthenticates, 0, "the card cryptogram did not verify: no EXTERNAL AUTHENTICATE")
        let still = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", scratch.keys])
        XCTAssertEqual(still.status, 0, still.stderr)
    }

    func testAScriptWithoutYesChangesNothing() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let result = try rotate(["--from", scratch.keys, "--to", try keyFile("n.json", kvn: "31")])
        XCTAssertEqual(result.status, 150, result.stderr)
        let still = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", scratch.keys])
        XCTAssertEqual(still.status, 0, still.stderr)
    }

    func testTheSameVersionIsRefusedBeforePutKey() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let result = try rotate(["--from", scratch.keys, "--to", try keyFile("same.json", kvn: "30"), "--yes"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("the card holds its old keys"), result.stderr)
    }
}
