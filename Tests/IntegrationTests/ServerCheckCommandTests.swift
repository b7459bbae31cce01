import Foundation
import TestSupport
import XCTest

/// `dmboot tree check-server` and `dmboot mcim` as commands, against openssl s_server.
final class ServerCheckCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A tree of its own with one account whose Auth/Bootstrap points at 127.0.0.1:`port` in PSK mode.
    func tree(port: UInt16, psk: [UInt8]) throws -> String {
        let account: [String: Any] = ["name": "Bench", "nodes": [
            ["path": "AppID", "format": "chr", "value": "w7"],
            ["path": "ServerID", "format": "chr", "value": "bench-dm"],
            ["path": "AppAddr/1/Addr", "format": "chr", "value": "https://127.0.0.1:\(port)/dm"],
            ["path": "Auth/Bootstrap/ServerURI", "format": "chr", "value": "https://127.0.0.1:\(port)"],
            ["path": "Auth/Bootstrap/SecMode", "format": "bin", "base64": Data("PSK".utf8).base64EncodedString()],
            ["path": "Auth/Bootstrap/ClientPublicKeyPSKIdentity", "format": "bin",
             "base64": Data("bench-device".utf8).base64EncodedString()],
            ["path": "Auth/Bootstrap/ServerPublicKeyPSKIdentity", "format": "bin", "base64": Data("bench".utf8).base64EncodedString()],
            ["path": "Auth/Bootstrap/ClientSecretKey", "format": "bin", "base64": Data(psk).base64EncodedString()],
        ]]
        let name = UUID().uuidString
        let file = folder.appendingPathComponent("\(name).json")
        let tree = folder.appendingPathComponent("\(name).sqlite").path
        try JSONSerialization.data(withJSONObject: ["accounts": [account]]).write(to: file)
        let result = try Executable.run("dmboot", ["tree", "import", file.path, "--tree", tree])
        XCTAssertEqual(result.status, 0, result.stderr)
        return tree
    }

    func server(keyHex: String) throws -> TLSPeer {
        try TLSPeer(arguments: ["-nocert", "-psk", keyHex, "-psk_identity", "bench-device", "-psk_hint", "bench", "-tls1_2"],
                    folder: folder)
    }

    /// Each case has a server (or a refusing port) of its own, and a tree that points at it.
    func testCheckServerReportsTheHandshakeOrTheTypedFailure() throws {
        let psk = (0..<16).map { UInt8($0 + 0x40) }
        let good = try server(keyHex: psk.map { String(format: "%02x", $0) }.joined())
        let result = try Executable.run("dmboot", ["tree", "check-server", "--tree", try tree(port: good.port, psk: psk),
                                                   "--json", "--timeout", "5"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"protocol\" : \"TLSv1.2\""), result.stdout)
        XCTAssertTrue(result.stdout.contains("\"serverIdentity\" : \"bench\""), result.stdout)
        XCTAssertFalse(result.stdout.contains(Data(psk).base64EncodedString()))
        good.waitUntilExit()

        let wrong = try server(keyHex: String(repeating: "11", count: 16))
        let refused = try Executable.run("dmboot", ["tree", "check-server", "--tree", try tree(port: wrong.port, psk: psk),
                                                    "--account", "Bench", "--timeout", "5"])
        XCTAssertEqual(refused.status, 82, refused.stderr + refused.stdout)
        wrong.waitUntilExit()

        let closed = try ClosedPort()
        let nobody = try Executable.run("dmboot", ["tree", "check-server", "--tree", try tree(port: closed.port, psk: psk),
                                                   "--timeout", "2"])
        XCTAssertEqual(nobody.status, 80, nobody.stderr)
    }

    func testMCIMPackAndUnpackCommands() throws {
        let openssl = TestPKI(folder: folder).run
        try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "device.key"])
        try openssl(["pkey", "-in", "device.key", "-pubout", "-out", "device.pub"])
        let path = { (name: String) in self.folder.appendingPathComponent(name).path }
        try Data("IMSI=262011234567890;Ki=000102030405060708090A0B0C0D0E0F".utf8).write(to: URL(fileURLWithPath: path("payload")))
        let packed = try Executable.run("dmboot", ["mcim", "pack", "--public-key", path("device.pub"), "--payload", path("payload"),
                                                   "--out", path("blob")])
        XCTAssertEqual(packed.status, 0, packed.stderr)
        chmod(path("device.key"), 0o644)
        XCTAssertEqual(try Executable.run("dmboot", ["mcim", "unpack", path("blob"), "--key", path("device.key")]).status, 55)
        chmod(path("device.key"), 0o600)
        let unpacked = try Executable.run("dmboot", ["mcim", "unpack", path("blob"), "--key", path("device.key"),
                                                     "--out", path("opened")])
        XCTAssertEqual(unpacked.status, 0, unpacked.stderr)
        XCTAssertTrue(unpacked.stdout.contains("<redacted 56 bytes>"), unpacked.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("opened"))), try Data(contentsOf: URL(fileURLWithPath: path("payload"))))
        var blob = try Data(contentsOf: URL(fileURLWithPath: path("blob")))
        blob[blob.count - 30] ^= 0x01
        try blob.write(to: URL(fileURLWithPath: path("blob")))
        let tampered = try Executable.run("dmboot", ["mcim", "unpack", path("blob"), "--key", path("device.key")])
        XCTAssertEqual(tampered.status, 90, tampered.stderr)
        XCTAssertTrue(tampered.stderr.contains("MAC does not verify"), tampered.stderr)
    }
}
