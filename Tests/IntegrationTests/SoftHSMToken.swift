import Foundation
import XCTest

/// A SoftHSM2 token for commands run as child processes: its own
/// configuration and token directory (SOFTHSM2_CONF, passed in `environment`),
/// made and filled by SoftHSM's own softhsm2-util (`--import --aes`), so the
/// key reaches the token without dmboot's help.
final class SoftHSMToken {
    static let modulePath = "/usr/lib/softhsm/libsofthsm2.so"
    let directory: URL
    let label: String
    let pinFile: URL
    var environment: [String: String] { ["SOFTHSM2_CONF": directory.appendingPathComponent("softhsm2.conf").path] }

    init(label: String = "Factory", pin: String = "1234") throws {
        // A missing module is a broken machine (scripts/install-deps.sh installs softhsm2), never a reason to skip.
        guard FileManager.default.fileExists(atPath: Self.modulePath) else {
            XCTFail("softhsm2 is not installed (no \(Self.modulePath)): run scripts/install-deps.sh")
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: Self.modulePath])
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-token-\(UUID().uuidString)")
        let tokens = directory.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true)
        try "directories.tokendir = \(tokens.path)\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(to: directory.appendingPathComponent("softhsm2.conf"), atomically: true, encoding: .utf8)
        self.label = label
        pinFile = directory.appendingPathComponent("pin")
        XCTAssertTrue(FileManager.default.createFile(atPath: pinFile.path, contents: Data((pin + "\n").utf8),
                                                     attributes: [.posixPermissions: 0o600]))
        try util(["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "99999999"])
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Imports an AES key (the file is written 0600 and removed at once).
    func importAESKey(_ key: [UInt8], label object: String, id: String = "01", pin: String = "1234") throws {
        let file = directory.appendingPathComponent("import-\(object).bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data(key), attributes: [.posixPermissions: 0o600]))
        defer { try? FileManager.default.removeItem(at: file) }
        try util(["--import", file.path, "--aes", "--token", label, "--label", object, "--id", id, "--pin", pin])
    }

    func uri(object: String, token: String? = nil) -> String {
        "pkcs11:token=\(token ?? label);object=\(object)?module-path=\(Self.modulePath)&pin-source=file:\(pinFile.path)"
    }

    private func util(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/softhsm2-util")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "softhsm2-util \(arguments.first ?? "")")
    }
}
