import APDU
import CardSimulator
import CardTransport
import Foundation
import SecureChannel
import XCTest

/// SCP03 at level 33 through libpcsclite, pcscd and vpcd, against the demo card.
final class SecureChannelRoundTripTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("scp03-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    static var demoKeys: SCP03Keys {
        get throws {
            let domain = BuiltInProfiles.demoSecurityDomain
            return try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac, dek: domain.dek, mode: nil,
                                     source: "demo").0
        }
    }

    func testLevel33ReadsTheTwoKilobyteBootstrapThroughPCSCD() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        let context = try Rig.context()
        let (card, channel) = try Rig.channel(context: context)
        defer { card.disconnect() }
        _ = try channel.expectSuccess(ISOCommand.selectApplication(PKCS15AID.value, response: .none), "SELECT")
        var wire: [String] = []
        channel.onExchange = { wire.append($0.command.hexString + " > " + $0.response.hexString.suffix(4)) }
        let secure = try SCP03Host(keys: Self.demoKeys, level: .full, applicationID: PKCS15AID.value).open(over: channel)
        XCTAssertTrue(secure.handshake.pseudoRandomChallengeVerified)
        _ = try secure.expectSuccess(ISOCommand.selectFile(0x6001), "SELECT 6001")
        let expected = BuiltInProfiles.demoBootstrap
        var content: [UInt8] = []
        while content.count < expected.count {
            let length = min(secure.maxResponseData, expected.count - content.count)
            content += try secure.expectSuccess(ISOCommand.readBinary(offset: content.count, length: length), "READ").data
        }
        XCTAssertEqual(content, expected)
        XCTAssertEqual(channel.exchangeCount, 1 + 2 + 1 + 10,
                       "SELECT AID, IU, EA, SELECT EF, 10 reads of at most 239: \(wire.joined(separator: "\n"))")
        var seen: [String] = []
        secure.onExchange = { plain, wire, _, _ in seen.append("\(plain.cla)/\(wire.cla)") }
        _ = try secure.transmit(ISOCommand.readBinary(offset: 0, length: 8))
        XCTAssertEqual(seen, ["0/4"], "the wire form carries the secure-messaging class")
    }

    func writeDemoKeys(mode: Int = 0o600) throws -> String {
        let path = folder.appendingPathComponent("demo-keys.json").path
        let result = try Executable.run("dmboot-sim", ["--write-keys", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        if mode != 0o600 { try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
        return path
    }

    func testSCP03TestReportsTheHandshakeAndNoSecret() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        let keys = try writeDemoKeys()
        let result = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--keys", keys,
                                                   "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["level"] as? String, "33")
        XCTAssertEqual(report["keyVersion"] as? String, "30")
        XCTAssertEqual(report["i"] as? String, "70")
        XCTAssertEqual(report["pseudoRandomChallengeVerified"] as? Bool, true)
        XCTAssertEqual(report["apduCount"] as? Int, 3)
        let domain = BuiltInProfiles.demoSecurityDomain
        for secret in [domain.enc, domain.mac, domain.dek] {
            XCTAssertFalse(result.stdout.contains(secret) || result.stderr.contains(secret))
        }
    }

    /// A card that refuses SELECT with no data asked (P2 0C, an optional form
    /// of ISO/IEC 7816-4 table 40): scp03 test says so and selects with the FCP.
    func testSCP03TestFallsBackWhenTheCardRefusesSelectWithoutData() throws {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        card.faults.refusedApplicationSelectForms = [0x0C]
        let inserted = try Rig.insert(card)
        defer { try? Rig.remove(inserted) }
        let result = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--keys", try writeDemoKeys(),
                                                   "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("the card answered SELECT A000000063504B43532D3135 with P2 0C by 6A86; selected it with P2 04"),
                      result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["pseudoRandomChallengeVerified"] as? Bool, true)
        XCTAssertEqual(report["apduCount"] as? Int, 4)
    }

    func testSCP03FailuresExitWithTheirOwnCodes() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        let reader = Rig.slots[0].reader
        let testKeys = try Executable.run("dmboot", ["scp03", "test", "--reader", reader, "--gp-test-keys"])
        XCTAssertEqual(testKeys.status, 20, testKeys.stderr)
        XCTAssertTrue(testKeys.stderr.contains("warning: using the GlobalPlatform default test keys"), testKeys.stderr)
        XCTAssertTrue(testKeys.stderr.contains("card cryptogram"), testKeys.stderr)

        let open = try writeDemoKeys(mode: 0o644)
        let refused = try Executable.run("dmboot", ["scp03", "test", "--reader", reader, "--keys", open])
        XCTAssertEqual(refused.status, 55, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("chmod 600"), refused.stderr)

        let none = try Executable.run("dmboot", ["scp03", "test", "--reader", reader],
                                      environment: ["DMBOOT_KEYS": "", "DMBOOT_KEY_ENC": ""])
        XCTAssertEqual(none.status, 23, none.stderr)

        let badLevel = try Executable.run("dmboot", ["scp03", "test", "--reader", reader, "--gp-test-keys", "--level", "02"])
        XCTAssertEqual(badLevel.status, 2, badLevel.stderr)
    }

    func testKeysFromTheEnvironmentOpenTheChannel() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        let domain = BuiltInProfiles.demoSecurityDomain
        let result = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--level", "13"],
                                        environment: ["DMBOOT_KEY_ENC": domain.enc, "DMBOOT_KEY_MAC": domain.mac,
                                                      "DMBOOT_KEY_DEK": domain.dek, "DMBOOT_KVN": "30"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("13 (C-DECRYPTION, C-MAC, R-MAC)"), result.stdout)
    }
}
