import Foundation
import XCTest

/// `tree export` and `tree import` as a technician backs up and restores a
/// tree (issue 16 item 4, issue 17): an export without its secrets says so,
/// and does not restore quietly with empty secrets.
final class TreeBackupCommandTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testAnExportWithoutSecretsSaysSoAndImportRefusesItUnlessAsked() throws {
        let tnds = Self.fixtures.appendingPathComponent("dm12-psk-tnds.xml").path
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", tnds, "--tree", path("a.sqlite")]).status, 0)
        for format in ["tnds", "json"] {
            let file = path("backup.\(format)")
            let export = try Executable.run("dmboot", ["tree", "export", "--format", format, "--out", file, "--tree", path("a.sqlite")])
            XCTAssertEqual(export.status, 0, export.stderr)
            XCTAssertTrue(export.stderr.contains("secret value(s) were left out of the export"), export.stderr)
            let written = try String(contentsOfFile: file, encoding: .utf8)
            XCTAssertTrue(written.contains(format == "tnds" ? "secret value(s) were left out" : "\"secretsLeftOut\""), written)

            let refused = try Executable.run("dmboot", ["tree", "import", file, "--tree", path("\(format).sqlite")])
            XCTAssertEqual(refused.status, 54, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("exported without --reveal-secrets"), refused.stderr)
            XCTAssertTrue(refused.stderr.contains("AAuthSecret"), refused.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("\(format).sqlite")), "nothing was imported")

            let allowed = try Executable.run("dmboot", ["tree", "import", file, "--allow-missing-secrets",
                                                        "--tree", path("\(format).sqlite")])
            XCTAssertEqual(allowed.status, 0, allowed.stderr)
            XCTAssertTrue(allowed.stderr.contains("are restored empty"), allowed.stderr)
        }

        let full = try Executable.run("dmboot", ["tree", "export", "--reveal-secrets", "--out", path("full.tnds"),
                                                 "--tree", path("a.sqlite")])
        XCTAssertEqual(full.stderr, "")
        let restored = try Executable.run("dmboot", ["tree", "import", path("full.tnds"), "--tree", path("full.sqlite")])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertEqual(restored.stderr, "")
        let before = try Executable.run("dmboot", ["tree", "export", "--format", "json", "--reveal-secrets", "--tree", path("a.sqlite")])
        let after = try Executable.run("dmboot", ["tree", "export", "--format", "json", "--reveal-secrets", "--tree", path("full.sqlite")])
        XCTAssertEqual(try nodes(after.stdout), try nodes(before.stdout))
    }

    /// Issue 16, item 7: SIGKILL during a first install leaves
    /// tree.sqlite.new-PID and its journal; the next install removes them.
    func testFilesOfAKilledFirstInstallAreRemovedByTheNextInstall() throws {
        let accounts = (0..<300).map { number in
            ["name": "Imported\(number)", "nodes": [
                ["path": "AppID", "format": "chr", "value": "w7"],
                ["path": "ServerID", "format": "chr", "value": "server-\(number)"],
                ["path": "AppAddr/1/Addr", "format": "chr", "value": "https://s\(number).example.com/dm"],
                ["path": "AppAddr/1/AddrType", "format": "chr", "value": "URI"],
            ]] as [String: Any]
        }
        let export = path("import.json")
        try JSONSerialization.data(withJSONObject: ["accounts": accounts]).write(to: URL(fileURLWithPath: export))
        let tree = path("tree.sqlite")
        var roundsLeavingFiles = 0
        for _ in 0..<10 {
            try? FileManager.default.removeItem(atPath: tree)
            let process = Process()
            process.executableURL = Executable.productsDirectory.appendingPathComponent("dmboot")
            process.arguments = ["tree", "import", export, "--tree", tree]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 20_000...300_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if try !strays().isEmpty { roundsLeavingFiles += 1 }
        }
        print("killed first installs that left tree.sqlite.new-PID files: \(roundsLeavingFiles) of 10")
        if try strays().isEmpty {
            // The kills all missed the window: leave what one would have left.
            for suffix in ["", "-journal"] {
                XCTAssertTrue(FileManager.default.createFile(atPath: path("tree.sqlite.new-\(Self.exitedPID())\(suffix)"), contents: Data()), "cannot create the test file")
            }
        }
        XCTAssertFalse(try strays().isEmpty)
        try? FileManager.default.removeItem(atPath: tree)
        let result = try Executable.run("dmboot", ["tree", "import", export, "--tree", tree])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try strays(), [])
    }

    static func exitedPID() -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try? process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    func strays() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("tree.sqlite.new-") }
    }

    /// The nodes of a JSON export, without the install times and provenance that differ.
    func nodes(_ json: String) throws -> [String] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let accounts = try XCTUnwrap(object["accounts"] as? [[String: Any]])
        return try accounts.flatMap { account in
            try XCTUnwrap(account["nodes"] as? [[String: Any]]).map {
                String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self)
            }
        }
    }
}
