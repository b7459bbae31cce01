import CardSimulator
import Foundation
import XCTest

/// Issue 24 item 10: the policy key allowUnprotectedRead. A card is read
/// with no secure channel only when `--level none` asks for it AND the
/// policy allows it (dmboot(1), POLICY FILE); otherwise nothing touches the card.
final class UnprotectedReadTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("unprotected-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    static let slot = 3
    /// No key source anywhere: none is needed, and none is looked for.
    static let environment = ["DMBOOT_KEYS": "", "DMBOOT_POLICY": ""]

    /// The `plain` personality (objects readable without secure messaging) in `slot`.
    func insertPlainCard() throws -> (VirtualReaderSlot, CardCounters) {
        let card = try VirtualCard(profile: Personality.plain.profile)
        let counters = card.counters
        return (try Rig.insert(card, slot: Self.slot), counters)
    }

    /// A policy file allowing (or not) a read in clear.
    func policy(allowingUnprotectedRead allowed: Bool) throws -> String {
        let path = folder.appendingPathComponent("policy-\(allowed).json").path
        try Data(#"{"allowUnprotectedRead": \#(allowed)}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testProvisionAndReadInClearWhenThePolicyAllowsIt() throws {
        let (inserted, counters) = try insertPlainCard()
        defer { try? Rig.remove(inserted, slot: Self.slot) }
        let reader = Rig.slots[Self.slot].reader
        let allowing = try policy(allowingUnprotectedRead: true)
        let tree = folder.appendingPathComponent("tree.sqlite").path
        let provisioned = try Executable.run("dmboot", ["provision", "--reader", reader, "--level", "none", "--policy", allowing,
                                                        "--tree", tree, "--json"], environment: Self.environment)
        XCTAssertEqual(provisioned.status, 0, provisioned.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(provisioned.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["added"] as? [String], ["DemoServer"])
        XCTAssertTrue(report["level"] is NSNull, "no secure channel: \(provisioned.stdout)")
        let read = try Executable.run("dmboot", ["read", "--reader", reader, "--level", "none", "--policy", allowing, "--json"],
                                      environment: Self.environment)
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertTrue(read.stdout.contains(#""level" : null"#), read.stdout)
        XCTAssertEqual(counters.externalAuthenticates, 0)
    }

    func testAReadInClearIsRefusedBeforeTheCardIsTouched() throws {
        let (inserted, counters) = try insertPlainCard()
        defer { try? Rig.remove(inserted, slot: Self.slot) }
        let reader = Rig.slots[Self.slot].reader
        let refusing = try policy(allowingUnprotectedRead: false)
        for arguments in [["provision", "--tree", folder.appendingPathComponent("t.sqlite").path], ["read"]] {
            for policyArguments in [[], ["--policy", refusing]] {
                let result = try Executable.run("dmboot", arguments + ["--reader", reader, "--level", "none"] + policyArguments,
                                                environment: Self.environment)
                XCTAssertEqual(result.status, 60, "\(arguments) \(policyArguments): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains("allowUnprotectedRead"), result.stderr)
            }
        }
        XCTAssertEqual(counters.commands, 0)
        let scp03Test = try Executable.run("dmboot", ["scp03", "test", "--reader", reader, "--level", "none"], environment: Self.environment)
        XCTAssertEqual(scp03Test.status, 2, scp03Test.stderr)
        XCTAssertTrue(scp03Test.stderr.contains("--level none: only read and provision"), scp03Test.stderr)
    }
}
