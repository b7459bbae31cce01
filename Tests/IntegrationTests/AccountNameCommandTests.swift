import Foundation
import XCTest

/// Account names that would break the tree (issue 16 item 3), refused on
/// every way in, and warnings versus --strict, through the real dmboot.
/// Names follow OMA DM TND 1.2.1 section 5 (no ".", "..", "/" or control
/// characters in a node name).
final class AccountNameCommandTests: XCTestCase {
    var folder: URL!
    var tree: String { folder.appendingPathComponent("tree.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SecretFileFixture.write(Data("1234\n".utf8), to: folder.appendingPathComponent("pin").path)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func file(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A SyncML DM bootstrap whose items target `account`, as WBXML from Debian's xml2wbxml.
    func wbxml(account: String, named name: String) throws -> String {
        let xml = """
        <?xml version="1.0"?>
        <!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">
        <SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID>
        <MsgID>1</MsgID><Target><LocURI>IMEI:490154203237518</LocURI></Target><Source><LocURI>bs</LocURI></Source></SyncHdr>
        <SyncBody><Add><CmdID>1</CmdID>
        <Item><Target><LocURI>./DMAcc/\(account)/AppID</LocURI></Target><Data>w7</Data></Item>
        <Item><Target><LocURI>./DMAcc/\(account)/ServerID</LocURI></Target><Data>evil</Data></Item>
        <Item><Target><LocURI>./DMAcc/\(account)/AppAddr/1/Addr</LocURI></Target><Data>https://evil.example</Data></Item>
        </Add><Final/></SyncBody></SyncML>
        """
        try Data(xml.utf8).write(to: folder.appendingPathComponent("\(name).xml"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xml2wbxml")
        process.arguments = ["-o", file("\(name).wbxml"), file("\(name).xml")]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return file("\(name).wbxml")
    }

    func push(_ body: String) throws -> Executable.Result {
        let built = try Executable.run("dmboot", ["push", "build", body, "--key-type", "USERPIN", "--pin-file", file("pin")])
        XCTAssertEqual(built.status, 0, built.stderr)
        return try Executable.run("dmboot", ["push", "install", body, "--content-type",
                                             built.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                                             "--pin-file", file("pin"), "--tree", tree])
    }

    func testPushInstallRefusesDotDotAndTheTreeStaysExportable() throws {
        XCTAssertEqual(try push(try wbxml(account: "Good", named: "good")).status, 0)
        let refused = try push(try wbxml(account: "..", named: "dotdot"))
        XCTAssertEqual(refused.status, 41, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("account name"), refused.stderr)
        let export = try Executable.run("dmboot", ["tree", "export", "--tree", tree, "--format", "json"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("\"Good\""), export.stdout)
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "delete", "./DMAcc/Good", "--tree", tree]).status, 0)
    }

    func testDecodeNamesABadAccountInTextAndJSON() throws {
        let body = try wbxml(account: "..", named: "dotdot")
        let text = try Executable.run("dmboot", ["decode", body])
        XCTAssertEqual(text.status, 41)
        XCTAssertTrue(text.stderr.contains("problem: ..: account name"), text.stderr)
        let json = try Executable.run("dmboot", ["decode", body, "--json"])
        XCTAssertEqual(json.status, 41)
        // One JSON object: the decoded document with the failure fields of the exit-code contract.
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["valid"] as? Bool, false)
        XCTAssertEqual(object["exitCode"] as? Int, Int(json.status))
    }

    func testImportCannotOverwriteAnotherAccountsCredentials() throws {
        let original: [String: Any] = ["accounts": [["name": "DemoServer", "nodes": [
            ["path": "AppID", "format": "chr", "value": "w7"], ["path": "ServerID", "format": "chr", "value": "demo"],
            ["path": "AppAddr/1/Addr", "format": "chr", "value": "https://demo.example"],
            ["path": "AppAuth/1/AAuthLevel", "format": "chr", "value": "CLCRED"],
            ["path": "AppAuth/1/AAuthType", "format": "chr", "value": "DIGEST"],
            ["path": "AppAuth/1/AAuthSecret", "format": "chr", "value": "original"],
        ]]]]
        let attack: [String: Any] = ["accounts": [["name": "DemoServer/AppAuth", "nodes": [
            ["path": "1/AAuthSecret", "format": "chr", "value": "stolen"],
        ]]]]
        for (name, object) in [("original.json", original), ("attack.json", attack)] {
            try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent(name))
        }
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", file("original.json"), "--tree", tree]).status, 0)
        let refused = try Executable.run("dmboot", ["tree", "import", file("attack.json"), "--tree", tree])
        XCTAssertEqual(refused.status, 41, refused.stderr)
        let secret = try Executable.run("dmboot", ["tree", "get", "./DMAcc/DemoServer/AppAuth/1/AAuthSecret", "--tree", tree,
                                                   "--reveal-secrets"])
        XCTAssertEqual(secret.stdout, "original\n")
    }

    func testWarningsAreShownAndStrictRefusesThemWithItsOwnCode() throws {
        // A PortNbr sent as chr digits: DMStdObj says int, nothing forbids reading the digits.
        let xml = """
        <MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>Lenient</NodeName><Path>./DMAcc</Path><RTProperties><Format><node/></Format></RTProperties>
        <Node><NodeName>AppID</NodeName><Value>w7</Value></Node><Node><NodeName>ServerID</NodeName><Value>lenient</Value></Node>
        <Node><NodeName>AppAddr</NodeName><Node><NodeName>1</NodeName><Node><NodeName>Addr</NodeName><Value>https://l.example</Value></Node>
        <Node><NodeName>Port</NodeName><Node><NodeName>1</NodeName><Node><NodeName>PortNbr</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>8443</Value></Node></Node></Node>
        </Node></Node></Node></MgmtTree>
        """
        try Data(xml.utf8).write(to: folder.appendingPathComponent("lenient.xml"))
        let text = try Executable.run("dmboot", ["decode", file("lenient.xml")])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stderr.contains("warning: Lenient/AppAddr/1/Port/1/PortNbr: format is chr"), text.stderr)
        let json = try Executable.run("dmboot", ["decode", file("lenient.xml"), "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["warnings"] as? [[String: Any]])?.first?["path"] as? String, "AppAddr/1/Port/1/PortNbr")
        XCTAssertEqual(object["valid"] as? Bool, true)
        let strict = try Executable.run("dmboot", ["decode", file("lenient.xml"), "--strict"])
        XCTAssertEqual(strict.status, 42, strict.stderr)
        try Data(#"{"strict": true}"#.utf8).write(to: folder.appendingPathComponent("policy.json"))
        XCTAssertEqual(try Executable.run("dmboot", ["decode", file("lenient.xml"), "--policy", file("policy.json")]).status, 42)
        let imported = try Executable.run("dmboot", ["tree", "import", file("lenient.xml"), "--tree", tree, "--json"])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains("PortNbr"), imported.stdout)
    }
}
