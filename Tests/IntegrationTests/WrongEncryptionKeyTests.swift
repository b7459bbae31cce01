import CardSimulator
import Foundation
import TestSupport
import XCTest

/// Issue 24 item 11: a key source whose Key-ENC alone is wrong. The card
/// cryptogram (S-MAC, from Key-MAC) verifies and EXTERNAL AUTHENTICATE is
/// taken; the pseudo-random challenge (from Key-ENC, Amendment D 6.2.2.1)
/// does not match, and the card cannot decrypt the first command with data
/// (C-DECRYPTION under S-ENC, Amendment D 6.2.6), so it answers 6982. That
/// is a key problem, exit 25, in every command; never a card error (11).
final class WrongEncryptionKeyTests: StationTestCase {
    func wrongENCKeys() -> String {
        let domain = BuiltInProfiles.demoSecurityDomain
        let wrong = path("wrong-enc.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: wrong, contents: Data(#"""
            {"kvn": "\#(domain.kvn)", "enc": "\#(domain.dek)", "mac": "\#(domain.mac)", "dek": "\#(domain.dek)"}
            """#.utf8), attributes: [.posixPermissions: 0o600]))
        return wrong
    }

    func testProvisionAndReadCallAWrongKeyENCAKeyProblem() throws {
        let wrong = wrongENCKeys()
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        for arguments in [["provision", "--tree", path("tree.sqlite")], ["read"]] {
            let result = try Executable.run("dmboot", arguments + ["--reader", Rig.slots[0].reader, "--keys", wrong])
            XCTAssertEqual(result.status, 25, "\(arguments[0]): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("Key-ENC is wrong"), result.stderr)
            XCTAssertFalse(result.stderr.contains("card answered"), result.stderr)
        }
        XCTAssertEqual(inserted.counters.externalAuthenticates, 2, "one per command, each accepted")
    }

    func testTheStationStopsTheLineOnAWrongKeyENCAsAKeyProblem() throws {
        let station = try station([], keys: wrongENCKeys())
        try station.waitUntilWatching()
        let feeder = try feeder(4, slots: 0..<1, ["--untouched-timeout", "2"])
        let stopped = try station.finish()
        _ = try feeder.finish()
        XCTAssertEqual(stopped.status, 16, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("3 cards in a row failed with encryptionKeyWrong (25)"), stopped.stderr)
    }
}
