import CardTransport
import Foundation
import XCTest

/// Issue 24: a card whose ISO/IEC 7816-4 file system is not ours. vsmartcard's
/// vicc 0.8 (Debian python3-virtualsmartcard 3.3, card type iso7816) answers
/// SELECT, READ BINARY, READ RECORD and GET RESPONSE and builds each FCP/FCI
/// from its own file classes; Fixtures/vicc/pkcs15_card.py only lays out
/// EF(DIR), the PKCS#15 DF (ODF, TokenInfo, DODF) and the DM bootstrap EF with
/// those classes, the bootstrap being libwbxml's xml2wbxml encoding of a
/// fixture. vicc has no SCP03, so the card is read with `--level none` under
/// a policy that allows it. Driven through pcscd and vpcd like any card.
final class IndependentCardTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let slot = 3
    var folder: URL!
    var card: Process?

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vicc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let card, card.isRunning {
            card.terminate()
            card.waitUntilExit()
            try? Rig.context().waitForRemoval(from: Rig.slots[Self.slot].reader, timeout: 10)
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// The fixture's WBXML as xml2wbxml (libwbxml) encodes it.
    func bootstrap() throws -> URL {
        let out = folder.appendingPathComponent("dm.wbxml")
        let encoded = try Executable.run(URL(fileURLWithPath: "/usr/bin/xml2wbxml"),
                                         ["-o", out.path, Self.repository.appendingPathComponent("Fixtures/bootstrap/dm12-psk.xml").path])
        XCTAssertEqual(encoded.status, 0, encoded.stderr)
        return out
    }

    /// Starts vicc with the image in the slot's vpcd port and waits for pcscd to see it.
    func insertVICC(bootstrap: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.repository.appendingPathComponent("Fixtures/vicc/pkcs15_card.py").path,
                             "--port", String(Rig.slots[Self.slot].port), "--bootstrap", bootstrap.path,
                             "--save", folder.appendingPathComponent("card.pickle").path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        card = process
        try Rig.context().waitForCard(in: Rig.slots[Self.slot].reader, timeout: 20)
    }

    func policy() throws -> String {
        let path = folder.appendingPathComponent("policy.json").path
        try Data(#"{"allowUnprotectedRead": true}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func json(_ result: Executable.Result) throws -> [String: Any] {
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    }

    func testCardInfoReadAndProvisionOnVsmartcardsISO7816Card() throws {
        let document = try bootstrap()
        try insertVICC(bootstrap: document)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("card.pickle").path))
        let reader = Rig.slots[Self.slot].reader
        let environment = ["DMBOOT_KEYS": "", "DMBOOT_POLICY": ""]

        let info = try json(try Executable.run("dmboot", ["card", "info", "--reader", reader, "--json"], environment: environment))
        let application = try XCTUnwrap(info["pkcs15"] as? [String: Any], "\(info)")
        XCTAssertEqual(application["application"] as? String, "A000000063504B43532D3135")
        XCTAssertEqual(application["serialNumber"] as? String, "0C0FFEE5")
        XCTAssertEqual(application["manufacturer"] as? String, "vsmartcard vicc")
        let objects = try XCTUnwrap(application["objects"] as? [[String: Any]])
        XCTAssertEqual(objects.first?["bootstrap"] as? String, "dm", "\(objects)")

        let out = folder.appendingPathComponent("out")
        let read = try json(try Executable.run("dmboot", ["read", "--reader", reader, "--level", "none", "--policy", try policy(),
                                                          "--out", out.path, "--json"], environment: environment))
        let read0 = try XCTUnwrap((read["objects"] as? [[String: Any]])?.first, "\(read)")
        let written = try XCTUnwrap(read0["file"] as? String)
        XCTAssertEqual(FileManager.default.contents(atPath: written), FileManager.default.contents(atPath: document.path),
                       "the bootstrap read back is xml2wbxml's bytes")

        let tree = folder.appendingPathComponent("tree.sqlite").path
        let provisioned = try json(try Executable.run("dmboot", ["provision", "--reader", reader, "--level", "none",
                                                                 "--policy", try policy(), "--tree", tree, "--json"],
                                                      environment: environment))
        XCTAssertEqual(provisioned["added"] as? [String], ["DemoServer"])
    }
}
