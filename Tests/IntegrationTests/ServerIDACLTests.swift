import CardSimulator
import Foundation
import XCTest

/// A ServerID that is ACL syntax (`evil&Get=*`) on every way in, and a tree
/// written before ServerIDs were checked (issue 25): no secret is printed.
final class ServerIDACLTests: XCTestCase {
    static let secrets = ["server-secret-7Qx2", "client-secret-Lp9w", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
    var folder: URL!
    var keys: String { path("keys.json") }
    var tree: String { path("tree.sqlite") }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("acl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A fixture bootstrap with its ServerID replaced (XML-escaped as given).
    func bootstrap(_ fixture: String, serverID: String, as name: String) throws -> String {
        let text = try String(contentsOf: FixtureCards.fixtures.appendingPathComponent("bootstrap/\(fixture)"), encoding: .utf8)
        XCTAssertTrue(text.contains("dmboot-demo-server</"))
        let edited = text.replacingOccurrences(of: ">dmboot-demo-server</Data>", with: ">\(serverID)</Data>")
            .replacingOccurrences(of: ">dmboot-demo-server</Value>", with: ">\(serverID)</Value>")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    func card(serverID: String) throws -> sending VirtualCard {
        _ = try bootstrap("dm12-psk.xml", serverID: serverID, as: "evil.xml")
        return try VirtualCard(profile: CardProfile.load(from: FixtureCards.oneDM(bootstrap: "evil.xml", label: "evil", in: folder)))
    }

    func assertNoSecret(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        for secret in Self.secrets { XCTAssertFalse(text.contains(secret), "\(secret) in: \(text)", file: file, line: line) }
    }

    func testACardWhoseServerIDIsACLSyntaxInstallsNothing() throws {
        let inserted = try Rig.insert(try card(serverID: "evil&amp;Get=*"), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let result = try Executable.run("dmboot", ["provision", "--reader", Rig.slots[1].reader, "--keys", keys, "--tree", tree])
        XCTAssertEqual(result.status, 41, result.stderr)
        XCTAssertTrue(result.stderr.contains("ServerID"), result.stderr)
        assertNoSecret(result.stdout + result.stderr)
        let shown = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--json"])
        XCTAssertFalse(shown.stdout.contains("DemoServer"), shown.stdout)
    }

    func testAnImportWhoseServerIDIsACLSyntaxInstallsNothing() throws {
        let tnds = try bootstrap("dm12-psk-tnds.xml", serverID: "evil&amp;Get=*", as: "evil-tnds.xml")
        let imported = try Executable.run("dmboot", ["tree", "import", tnds, "--tree", tree])
        XCTAssertEqual(imported.status, 41, imported.stderr)
        XCTAssertTrue(imported.stderr.contains("ServerID"), imported.stderr)
        let decoded = try Executable.run("dmboot", ["decode", tnds])
        XCTAssertEqual(decoded.status, 41, decoded.stderr)

        let good = try bootstrap("dm12-psk-tnds.xml", serverID: "dmboot-demo-server", as: "good-tnds.xml")
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", good, "--tree", tree]).status, 0)
        let export = path("export.json")
        let exported = try Executable.run("dmboot", ["tree", "export", "--tree", tree, "--format", "json", "--reveal-secrets",
                                                     "--out", export])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let text = try String(contentsOfFile: export, encoding: .utf8)
        XCTAssertTrue(text.contains("\"dmboot-demo-server\""))
        try Data(text.replacingOccurrences(of: "\"dmboot-demo-server\"", with: "\"evil&Get=*\"").utf8)
            .write(to: URL(fileURLWithPath: export))
        let other = path("other.sqlite")
        let json = try Executable.run("dmboot", ["tree", "import", export, "--tree", other])
        XCTAssertEqual(json.status, 41, json.stderr)
        let shown = try Executable.run("dmboot", ["tree", "show", "--tree", other])
        XCTAssertFalse(shown.stdout.contains("DemoServer"), shown.stdout)
    }

    /// A tree that dmboot wrote before ServerIDs were checked: its secret
    /// nodes carry "Replace=evil&Get=*" (set here with the sqlite3 tool).
    func testATreeWithHostileACLsShowsNoSecret() throws {
        let good = try bootstrap("dm12-psk-tnds.xml", serverID: "dmboot-demo-server", as: "good-tnds.xml")
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", good, "--tree", tree]).status, 0)
        let sqlite = try Executable.run(URL(fileURLWithPath: "/usr/bin/sqlite3"),
                                        [tree, "UPDATE node SET acl = 'Replace=evil&Get=*'"])
        XCTAssertEqual(sqlite.status, 0, sqlite.stderr)
        let secret = try Executable.run("dmboot", ["tree", "get", "./DMAcc/DemoServer/AppAuth/Cli/AAuthSecret", "--tree", tree])
        XCTAssertEqual(secret.status, 53, secret.stderr)
        assertNoSecret(secret.stdout + secret.stderr)
        for arguments in [["tree", "show", "--tree", tree], ["tree", "show", "--tree", tree, "--json"],
                          ["tree", "get", "./DMAcc/DemoServer/Auth/Bootstrap/ClientSecretKey", "--tree", tree, "--json"]] {
            let shown = try Executable.run("dmboot", arguments)
            assertNoSecret(shown.stdout + shown.stderr)
        }
        let serverID = try Executable.run("dmboot", ["tree", "get", "./DMAcc/DemoServer/ServerID", "--tree", tree])
        XCTAssertEqual(serverID.stdout, "dmboot-demo-server\n", serverID.stderr)
    }
}
