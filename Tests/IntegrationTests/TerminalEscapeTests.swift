import CardSimulator
import Foundation
import XCTest

/// Values from a card or a file never act on the technician's terminal
/// (issue 16 item 5): human output and stderr show control characters as
/// escapes, JSON carries them JSON-escaped with the value intact.
final class TerminalEscapeTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")
    static let clearScreen = "\u{1B}[2J"
    static let fakeOK = "FAILED\rOK"

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("escape-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func assertNoRawControls(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let raw = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        XCTAssertTrue(raw.isEmpty, "raw control characters \(raw.map { String($0.value, radix: 16) }) in \(text.debugDescription)",
                      file: file, line: line)
    }

    func testCardInfoShowsACardsEscapeSequencesEscaped() throws {
        var profile = BuiltInProfiles.demo
        profile.pkcs15?.label = "\(Self.clearScreen)token"
        profile.pkcs15?.manufacturer = Self.fakeOK
        let inserted = try Rig.insert(try VirtualCard(profile: profile), slot: 2)
        defer { try? Rig.remove(inserted, slot: 2) }

        let text = try Executable.run("dmboot", ["card", "info", "--reader", Rig.slots[2].reader])
        XCTAssertEqual(text.status, 0, text.stderr)
        assertNoRawControls(text.stdout)
        XCTAssertTrue(text.stdout.contains("\"\\x1B[2Jtoken\", by FAILED\\rOK"), text.stdout)

        let json = try Executable.run("dmboot", ["card", "info", "--reader", Rig.slots[2].reader, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        assertNoRawControls(json.stdout)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let pkcs15 = try XCTUnwrap(object["pkcs15"] as? [String: Any])
        XCTAssertEqual(pkcs15["label"] as? String, "\(Self.clearScreen)token")
        XCTAssertEqual(pkcs15["manufacturer"] as? String, Self.fakeOK)
    }

    /// A tree restored from a JSON export whose Name carries ESC[2J and a carriage return.
    func treeWithHostileName() throws -> String {
        let tree = folder.appendingPathComponent("tree.sqlite").path
        let plain = folder.appendingPathComponent("plain.sqlite").path
        let tnds = Self.fixtures.appendingPathComponent("dm12-psk-tnds.xml").path
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", tnds, "--tree", plain]).status, 0)
        let export = try Executable.run("dmboot", ["tree", "export", "--format", "json", "--reveal-secrets", "--tree", plain])
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        var accounts = try XCTUnwrap(object["accounts"] as? [[String: Any]])
        var nodes = try XCTUnwrap(accounts[0]["nodes"] as? [[String: Any]])
        let index = try XCTUnwrap(nodes.firstIndex { $0["path"] as? String == "Name" })
        nodes[index]["value"] = "\(Self.clearScreen)\(Self.fakeOK)"
        accounts[0]["nodes"] = nodes
        object["accounts"] = accounts
        let hostile = folder.appendingPathComponent("hostile.json")
        try JSONSerialization.data(withJSONObject: object).write(to: hostile)
        let imported = try Executable.run("dmboot", ["tree", "import", hostile.path, "--tree", tree])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        return tree
    }

    func testTreeShowAndGetPrintAFilesControlCharactersEscaped() throws {
        let tree = try treeWithHostileName()
        let shown = try Executable.run("dmboot", ["tree", "show", "--tree", tree])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        assertNoRawControls(shown.stdout)
        XCTAssertTrue(shown.stdout.contains("./DMAcc/DemoServer/Name  (chr)  \\x1B[2JFAILED\\rOK"), shown.stdout)

        let value = try Executable.run("dmboot", ["tree", "get", "./DMAcc/DemoServer/Name", "--tree", tree])
        XCTAssertEqual(value.stdout, "\\x1B[2JFAILED\\rOK\n")

        let json = try Executable.run("dmboot", ["tree", "get", "./DMAcc/DemoServer/Name", "--tree", tree, "--json"])
        assertNoRawControls(json.stdout)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["value"] as? String, "\(Self.clearScreen)\(Self.fakeOK)")
    }

    func testErrorMessagesOnStandardErrorAreEscaped() throws {
        let xml = folder.appendingPathComponent("bad.xml")
        try Data("""
        <SyncML><SyncBody><Add><Item><Target><LocURI>./DMAcc/x/AppAddr/1/Addr</LocURI></Target><Data>nope&#13;OK</Data></Item></Add></SyncBody></SyncML>
        """.utf8).write(to: xml)
        let rejected = try Executable.run("dmboot", ["decode", xml.path])
        XCTAssertEqual(rejected.status, 41, rejected.stderr)
        assertNoRawControls(rejected.stderr)
        XCTAssertTrue(rejected.stderr.contains("nope\\rOK"), rejected.stderr)

        let missing = try Executable.run("dmboot", ["tree", "get", "./DMAcc/\(Self.clearScreen)", "--tree", try treeWithHostileName()])
        XCTAssertEqual(missing.status, 52, missing.stderr)
        assertNoRawControls(missing.stderr)
        XCTAssertTrue(missing.stderr.contains("\\x1B[2J"), missing.stderr)
    }
}
