import CardSimulator
import Foundation
import XCTest

/// Pushed bootstraps and the authentication helpers, as commands.
final class PushCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    var folder: URL!
    var tree: String { folder.appendingPathComponent("tree.sqlite").path }
    var body: String { Self.fixtures.appendingPathComponent("bootstrap/dm12-x509.wbxml").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("push-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SecretFileFixture.write(Data("1234\n".utf8), to: file("pin"))
        try SecretFileFixture.write(Data("1235\n".utf8), to: file("wrong-pin"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func contentType(_ arguments: [String]) throws -> String {
        let result = try Executable.run("dmboot", ["push", "build", body] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testABuiltPushInstallsIntoTheTreeProvisionWrites() throws {
        let keys = file("keys.json")
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        let provisioned = try Executable.run("dmboot", ["provision", "-r", Rig.slots[1].reader, "--keys", keys, "--tree", tree])
        try Rig.remove(inserted, slot: 1)
        XCTAssertEqual(provisioned.status, 0, provisioned.stderr)

        let value = try contentType(["--key-type", "USERPIN", "--pin-file", file("pin")])
        XCTAssertEqual(value, "application/vnd.syncml.dm+wbxml;USERPIN;DAF86577207774719BFAD711C29A3E188CBD66E6")
        let installed = try Executable.run("dmboot", ["push", "install", body, "--content-type", value,
                                                      "--pin-file", file("pin"), "--tree", tree, "--json"])
        XCTAssertEqual(installed.status, 0, installed.stderr)
        let show = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        let accounts = try XCTUnwrap(object["accounts"] as? [[String: Any]])
        XCTAssertEqual(accounts.map { "\($0["name"]!)/\($0["source"]!)" }, ["Backup/push", "DemoServer/smartcard"])
        // A later smartcard provisioning prunes smartcard accounts only: the pushed one stays.
        let again = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(again, slot: 1) }
        XCTAssertEqual(try Executable.run("dmboot", ["provision", "-r", Rig.slots[1].reader, "--keys", keys, "--tree", tree]).status, 0)
        XCTAssertTrue(try Executable.run("dmboot", ["tree", "show", "--tree", tree]).stdout.contains("./DMAcc/Backup  ServerID backup-dm  from push"))
    }

    func testTamperingWrongPINsLegacyIDsAndBadHeadersAreRefusedWithTheTreeUntouched() throws {
        let value = try contentType(["--key-type", "USERPIN", "--pin-file", file("pin")])
        XCTAssertEqual(try Executable.run("dmboot", ["push", "install", body, "--content-type", value, "--pin-file", file("pin"),
                                                     "--tree", tree]).status, 0)
        let before = FileManager.default.contents(atPath: tree)
        var tampered = try Data(contentsOf: URL(fileURLWithPath: body))
        tampered[100] ^= 0x20
        try tampered.write(to: URL(fileURLWithPath: file("tampered.wbxml")))
        let cases: [([String], Int32, String)] = [
            (["push", "install", file("tampered.wbxml"), "--content-type", value, "--pin-file", file("pin")], 70, "HMAC does not verify"),
            (["push", "install", body, "--content-type", value, "--pin-file", file("wrong-pin")], 70, "HMAC does not verify"),
            (["push", "install", body, "--content-type", value.replacingOccurrences(of: ";USERPIN;", with: "; USERPIN;"),
              "--pin-file", file("pin")], 71, "visible ASCII"),
        ]
        for (arguments, status, message) in cases {
            let result = try Executable.run("dmboot", arguments + ["--tree", tree])
            XCTAssertEqual(result.status, status, result.stderr)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
            XCTAssertEqual(FileManager.default.contents(atPath: tree), before)
        }
        let legacy = try Executable.run("dmboot", ["push", "build", body, "--key-type", "NETWORKID", "--imsi", "262011234567890",
                                                   "--allow-legacy-network-id"])
        XCTAssertEqual(legacy.status, 0, legacy.stderr)
        let legacyValue = legacy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(legacyValue, "application/vnd.syncml.dm+wbxml;NETWORKID;FB618376EF028B8140AB0A94EFE52502AF4726DE")
        let refused = try Executable.run("dmboot", ["push", "install", body, "--content-type", legacyValue,
                                                    "--imsi", "262011234567890", "--tree", tree])
        XCTAssertEqual(refused.status, 60, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("not a secret"), refused.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: tree), before)
    }

    func testAuthenticationHelpers() throws {
        try SecretFileFixture.write(Data("OhBehave".utf8), to: file("password"))
        let digest = try Executable.run("dmboot", ["auth", "digest", "--user", "Bruce1", "--password-file", file("password"),
                                                   "--nonce", Data("Nonce".utf8).base64EncodedString(), "--algorithm", "sha256"])
        XCTAssertEqual(digest.stdout, "F1XSfiiUEwT7gQZkX0+gb9WpmsW2a1sGwDOmbqXKFnw=\n", digest.stderr)
        try SecretFileFixture.write(Data("integrity-key".utf8), to: file("key"))
        try Data("<SyncML/>".utf8).write(to: URL(fileURLWithPath: file("message.xml")))
        let signed = try Executable.run("dmboot", ["auth", "hmac-sign", file("message.xml"), "--key-file", file("key"),
                                                   "--server-id", "dm.foo.org", "--timestamp", "2012-01-01T13:04:20Z"])
        let header = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(header.hasSuffix("mac=9Cly2Joo0ulPLoWZ2hgRlzGGTn8d5KlScqi5de3GsU0="), header)
        XCTAssertEqual(try Executable.run("dmboot", ["auth", "hmac-verify", file("message.xml"), "--header", header,
                                                     "--key-file", file("key")]).status, 0)
        try Data("<SyncML />".utf8).write(to: URL(fileURLWithPath: file("altered.xml")))
        XCTAssertEqual(try Executable.run("dmboot", ["auth", "hmac-verify", file("altered.xml"), "--header", header,
                                                     "--key-file", file("key")]).status, 72)
        try SecretFileFixture.write(Data((0..<32).map { UInt8($0) }), to: file("ks"))
        let redacted = try Executable.run("dmboot", ["auth", "gba-keys", "--ks-naf-file", file("ks")])
        XCTAssertFalse(redacted.stdout.contains("F2B9A4DA"), redacted.stdout)
        let revealed = try Executable.run("dmboot", ["auth", "gba-keys", "--ks-naf-file", file("ks"), "--reveal-secrets"])
        XCTAssertTrue(revealed.stdout.contains("F2B9A4DAAABC9888CED1A407EB46639F0D5DC3F0031EAB38A7B5D968CBE2BDC3"), revealed.stdout)
    }
}
