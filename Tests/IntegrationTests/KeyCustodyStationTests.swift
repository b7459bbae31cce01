import APDU
import CardCrypto
import CardSimulator
import Foundation
import SecureChannel
import XCTest

/// Issue 19's "done when": a station provisions, through pcscd, cards whose
/// keys are diversified from a master key held in SoftHSM2, and cards listed
/// in a key table (its key columns encrypted as pySim does, under a key in
/// the token); a card missing from the table, a wrong PIN and a missing key
/// each fail before any EXTERNAL AUTHENTICATE with their own code.
final class KeyCustodyStationTests: XCTestCase {
    let master = (0x40...0x4F).map { UInt8($0) }
    var folder: URL!
    var log: String { folder.appendingPathComponent("station.jsonl").path }
    var trees: String { folder.appendingPathComponent("trees").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("custody-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The demo card, personalised as a vendor's batch: its keys diversified
    /// (KDF3) from the master 40..4F with each card's own KDD.
    func diversifiedProfile() throws -> String {
        var profile = BuiltInProfiles.demo
        profile.name = "diversified"
        let hex = Hex.encode(master)
        profile.scp03?.enc = hex
        profile.scp03?.mac = hex
        profile.scp03?.dek = hex
        profile.scp03?.diversify = "kdf3"
        let path = folder.appendingPathComponent("diversified.json")
        try JSONEncoder().encode(profile).write(to: path)
        return path.path
    }

    func feeder(_ count: Int, slots: Range<Int>, profile: String) throws -> BackgroundProcess {
        try BackgroundProcess.feeder(count, slots: slots, ["--profile", profile, "--untouched-timeout", "5"], in: folder)
    }

    func testAStationProvisionsCardsDiversifiedFromAMasterKeyInTheToken() throws {
        let token = try SoftHSMToken()
        try token.importAESKey(master, label: "kmc")
        let station = try BackgroundProcess(["station", "--keys", token.uri(object: "kmc"), "--diversify", "kdf3",
                                             "--tree-dir", trees, "--json-log", log, "--max-cards", "4"],
                                            in: folder, environment: token.environment)
        try station.waitUntilWatching()
        let fed = try feeder(4, slots: 0..<2, profile: diversifiedProfile()).finish()
        let stopped = try station.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("4 card(s): 4 provisioned"), stopped.stdout + stopped.stderr + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") + fed.stdout)
        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(Set(cards.compactMap(\.keyDiversificationData)).count, 4, "every card has its own KDD, so its own keys")
        XCTAssertTrue(cards.allSatisfy { $0.externalAuthenticates == 1 })
        let text = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertFalse(text.uppercased().contains(Hex.encode(master)), "no key in the log")
    }

    func testAStationProvisionsCardsFromAnEncryptedKeyTableAndRefusesACardNotInIt() throws {
        // Cards 0..3 of the feeder get KDDs 44454D4F2D43 ‖ card number and
        // ICCIDs 890100000000 ‖ card number; the table lists cards 0 and 1 by
        // KDD and card 2 by ICCID, with their diversified keys.
        let token = try SoftHSMToken()
        let kek = (1...16).map { UInt8($0 * 3) }  // softhsm2-util reads the key file up to its first zero byte
        try token.importAESKey(kek, label: "kek")
        let masterKeys = try SCP03Keys(version: 0x30, enc: SecretBytes(master), mac: SecretBytes(master), dek: SecretBytes(master))
        var rows = "ICCID,KDD,KVN,ENC,MAC,DEK\n"
        for card in 0..<3 {
            let kdd = "44454D4F2D43" + String(format: "%08X", card)
            let keys = try KDF3.diversify(masters: masterKeys, kdd: [UInt8](hex: kdd))
            let identity = card == 2 ? "890100000000" + String(format: "%08d", card) + "," : "," + kdd
            rows += "\(identity),30,\(keys.enc.exposedCopy().hexString),\(keys.mac.exposedCopy().hexString),\(keys.dek.exposedCopy().hexString)\n"
        }
        let table = folder.appendingPathComponent("cards.csv").path
        try pySimEncrypt(rows, kek: kek).write(toFile: table, atomically: true, encoding: .utf8)
        let station = try BackgroundProcess(["station", "--keys", table, "--key-table-kek", token.uri(object: "kek"),
                                             "--tree-dir", trees, "--json-log", log, "--max-cards", "4"],
                                            in: folder, environment: token.environment)
        try station.waitUntilWatching()
        let fed = try feeder(4, slots: 0..<1, profile: diversifiedProfile()).finish()
        let stopped = try station.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("4 card(s): 3 provisioned, 0 unchanged, 0 duplicate, 1 failed"), stopped.stdout + stopped.stderr)
        let lines = try StationLogLine.parse(file: log)
        XCTAssertEqual(lines.filter { $0.outcome == "provisioned" }.count, 3)
        let refused = try XCTUnwrap(lines.first { $0.outcome != "provisioned" })
        XCTAssertEqual(refused.outcome, "cardNotInKeyTable")
        XCTAssertEqual(refused.exitCode, 115)
        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(cards.map(\.externalAuthenticates), [1, 1, 1, 0], "the unlisted card never sees EXTERNAL AUTHENTICATE")
    }

    func testTokenFailuresStopBeforeTheCardIsTouched() throws {
        let (token, counters, inserted) = try tokenAndDiversifiedCard()
        defer { try? Rig.remove(inserted) }
        let missingKey = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--keys",
                                                       token.uri(object: "nothing"), "--diversify", "kdf3"],
                                            environment: token.environment)
        XCTAssertEqual(missingKey.status, 113, missingKey.stderr)
        try Data("0000\n".utf8).write(to: token.pinFile)
        let wrongPIN = try Executable.run("dmboot", ["provision", "--reader", Rig.slots[0].reader, "--keys",
                                                     token.uri(object: "kmc"), "--diversify", "kdf3",
                                                     "--tree", folder.appendingPathComponent("t.db").path],
                                          environment: token.environment)
        XCTAssertEqual(wrongPIN.status, 112, wrongPIN.stderr)
        XCTAssertEqual(counters.commands, 0, "nothing reached the card")
        XCTAssertEqual(counters.externalAuthenticates, 0)
    }

    func testScp03TestOpensACardWithItsDiversifiedKeysFromTheToken() throws {
        let (token, counters, inserted) = try tokenAndDiversifiedCard()
        defer { try? Rig.remove(inserted) }
        let opened = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--keys",
                                                   token.uri(object: "kmc"), "--diversify", "kdf3", "--json"],
                                        environment: token.environment)
        XCTAssertEqual(opened.status, 0, opened.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(opened.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["pseudoRandomChallengeVerified"] as? Bool, true, "the card's own Key-ENC, derived in the token")
        XCTAssertEqual(counters.externalAuthenticates, 1)
        // Without --diversify the master key is not the card's key: the card cryptogram does not verify.
        let undiversified = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[0].reader, "--keys",
                                                          token.uri(object: "kmc")],
                                               environment: token.environment)
        XCTAssertEqual(undiversified.status, 20, undiversified.stderr)
        XCTAssertEqual(counters.externalAuthenticates, 1, "no EXTERNAL AUTHENTICATE with the wrong keys")
        // apdu-shell's scp03 open takes the same source.
        let shell = try Executable.run("apdu-shell", ["-r", Rig.slots[0].reader, "--keys", token.uri(object: "kmc"),
                                                      "--diversify", "kdf3"],
                                       environment: token.environment,
                                       stdin: "select aid A000000063504B43532D3135\nscp03 open\nselect fid 5031 expect 9000\n")
        XCTAssertEqual(shell.status, 0, shell.stderr)
        XCTAssertEqual(counters.externalAuthenticates, 2)
    }

    /// A token holding the master key as "kmc", and a card with keys diversified from it in slot 0.
    func tokenAndDiversifiedCard() throws -> (SoftHSMToken, CardCounters, VirtualReaderSlot) {
        let token = try SoftHSMToken()
        try token.importAESKey(master, label: "kmc")
        let card = try VirtualCard(profile: CardProfile.load(from: URL(fileURLWithPath: diversifiedProfile())))
        let counters = card.counters
        return (token, counters, try Rig.insert(card))
    }

    func pySimEncrypt(_ text: String, kek: [UInt8]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("KeyCustodyTests/pysim_csv.py").path
        let result = try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), [script, kek.hexString], stdin: text)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }
}
