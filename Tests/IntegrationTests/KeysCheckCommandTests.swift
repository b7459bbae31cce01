import Foundation
import XCTest

/// `dmboot keys check` as a technician runs it: key check values from a key
/// file, a master key in SoftHSM2 and a key table, against GlobalPlatformPro's
/// published KDF3 check values; every token failure with its own exit code;
/// no key ever in the output.
final class KeysCheckCommandTests: XCTestCase {
    let master = "404142434445464748494A4B4C4D4E4F"
    let kdd = "00010203040506070809"

    func testAMasterKeyInTheTokenGivesGlobalPlatformProsKDF3CheckValues() throws {
        let token = try SoftHSMToken()
        try token.importAESKey([UInt8](hex: master), label: "kmc")
        let result = try Executable.run("dmboot", ["keys", "check", "--keys", token.uri(object: "kmc"),
                                                   "--diversify", "kdf3", "--kdd", kdd, "--json"],
                                        environment: token.environment)
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["kcv"] as? [String: String], ["ENC": "E79C05", "MAC": "D1BD77", "DEK": "3FDE8C"])
        XCTAssertFalse((result.stdout + result.stderr).uppercased().contains(master))
    }

    func testAKeyFileGivesTheSameValuesAsTheToken() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("master.json").path
        let json = #"{"kvn":"30","enc":"\#(master)","mac":"\#(master)","dek":"\#(master)"}"#
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600]), "cannot create the test file")
        let result = try Executable.run("dmboot", ["keys", "check", "--keys", file, "--diversify", "kdf3", "--kdd", kdd])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("ENC          KCV E79C05"), result.stdout)
        XCTAssertTrue(result.stdout.contains("DEK          KCV 3FDE8C"), result.stdout)
        XCTAssertTrue(result.stdout.contains("key version  30"), result.stdout)
    }

    func testEachTokenFailureHasItsOwnExitCode() throws {
        let token = try SoftHSMToken()
        try token.importAESKey([UInt8](hex: master), label: "kmc")
        let missingToken = try Executable.run("dmboot", ["keys", "check", "--keys", token.uri(object: "kmc", token: "Nope")],
                                              environment: token.environment)
        XCTAssertEqual(missingToken.status, 111, missingToken.stderr)
        let missingObject = try Executable.run("dmboot", ["keys", "check", "--keys", token.uri(object: "other")],
                                               environment: token.environment)
        XCTAssertEqual(missingObject.status, 113, missingObject.stderr)
        try Data("9999\n".utf8).write(to: token.pinFile)
        let wrongPIN = try Executable.run("dmboot", ["keys", "check", "--keys", token.uri(object: "kmc")],
                                          environment: token.environment)
        XCTAssertEqual(wrongPIN.status, 112, wrongPIN.stderr)
        XCTAssertFalse(wrongPIN.stderr.contains("9999"), wrongPIN.stderr)
        let noModule = try Executable.run("dmboot", ["keys", "check", "--keys",
                                                     "pkcs11:token=T;object=k?module-path=/nonexistent.so"])
        XCTAssertEqual(noModule.status, 110, noModule.stderr)
        let pinInURI = try Executable.run("dmboot", ["keys", "check", "--keys",
                                                     "pkcs11:token=T;object=k?module-path=/m.so&pin-value=1234"])
        XCTAssertEqual(pinInURI.status, 23, pinInURI.stderr)
    }

    func testAKeyTableRowIsFoundAndACardNotInItHasItsOwnExitCode() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-kc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let table = folder.appendingPathComponent("cards.csv").path
        let text = "KDD,KVN,ENC,MAC,DEK\n\(kdd),30,\(master),\(master),\(master)\n"
        XCTAssertTrue(FileManager.default.createFile(atPath: table, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]), "cannot create the test file")
        let found = try Executable.run("dmboot", ["keys", "check", "--keys", table, "--kdd", kdd])
        XCTAssertEqual(found.status, 0, found.stderr)
        XCTAssertTrue(found.stdout.contains("MAC          KCV 504A77"), found.stdout)
        let missing = try Executable.run("dmboot", ["keys", "check", "--keys", table, "--kdd", "FFFFFFFFFFFFFFFFFFFF"])
        XCTAssertEqual(missing.status, 115, missing.stderr)
        let diversified = try Executable.run("dmboot", ["keys", "check", "--keys", table, "--kdd", kdd, "--diversify", "kdf3"])
        XCTAssertEqual(diversified.status, 23, diversified.stderr)
    }
}
