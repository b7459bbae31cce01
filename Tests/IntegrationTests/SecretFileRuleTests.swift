import Foundation
import XCTest

/// One rule for every secret file a command line names (issue 25): at mode
/// 0644 each is refused with exit status 55 and the fix, before it is used.
final class SecretFileRuleTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("secret-rule-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testEverySecretFileOthersCanReadIsRefusedWithTheFix() throws {
        let open = file("open")
        XCTAssertTrue(FileManager.default.createFile(atPath: open, contents: Data("1234\n".utf8)))
        XCTAssertEqual(chmod(open, 0o644), 0)
        let keys = file("keys.json")
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
        XCTAssertEqual(chmod(keys, 0o640), 0)
        let message = file("message.xml")
        try Data("<SyncML/>".utf8).write(to: URL(fileURLWithPath: message))
        let body = FixtureCards.fixtures.appendingPathComponent("bootstrap/dm12-x509.wbxml").path
        let commands: [(String, [String])] = [
            ("--pin-file", ["push", "build", body, "--key-type", "USERPIN", "--pin-file", open]),
            ("--network-id-file", ["push", "build", body, "--key-type", "NETWORKID", "--network-id-file", open]),
            ("--key-file (push)", ["push", "build", body, "--key-type", "X-VENDOR", "--key-file", open]),
            ("--password-file", ["auth", "digest", "--user", "u", "--password-file", open, "--nonce", "AAAA"]),
            ("--key-file (auth)", ["auth", "hmac-sign", message, "--key-file", open, "--server-id", "s"]),
            ("--ks-naf-file", ["auth", "gba-keys", "--ks-naf-file", open]),
            ("mcim --key", ["mcim", "unpack", message, "--key", open]),
            ("--keys", ["keys", "check", "--keys", keys]),
        ]
        for (name, arguments) in commands {
            let result = try Executable.run("dmboot", arguments)
            XCTAssertEqual(result.status, 55, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("chmod 600"), "\(name): \(result.stderr)")
        }
    }
}
