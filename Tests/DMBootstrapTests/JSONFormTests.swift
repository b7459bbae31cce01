import DMBootstrap
import Foundation
import JSONOutput
import XCTest

/// `dmboot decode --json` is a contract: this pins its keys and values.
final class JSONFormTests: XCTestCase {
    func json(_ object: BootstrapJSON.Document) throws -> String {
        String(decoding: try JSONOutput.line(object).dropLast(), as: UTF8.self)
    }

    func testTheJSONFormIsStableAndRedactsSecrets() throws {
        let decoded = try BootstrapDecoder().decode(Fixtures.bytes("dm12-x509.wbxml"))
        let object = BootstrapJSON.object(decoded, problems: [], revealSecrets: false)
        let expected = try String(contentsOf: Fixtures.folder.appendingPathComponent("dm12-x509.decoded.json"), encoding: .utf8)
        XCTAssertEqual(try json(object), expected.trimmingCharacters(in: .whitespacesAndNewlines))
        let revealed = try json(BootstrapJSON.object(decoded, problems: [], revealSecrets: true))
        XCTAssertTrue(revealed.contains("\"base64\":\"MIIBBA==\""), revealed)
        XCTAssertFalse(try json(object).contains("MIIBBA=="))
    }
}
