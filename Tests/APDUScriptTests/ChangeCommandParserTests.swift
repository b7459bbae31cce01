@testable import APDUScript
import XCTest

/// The lines that change a card (issue 29): what they parse to, and that no
/// PIN can be written on a line, or reach the interactive history if typed.
final class ChangeCommandParserTests: XCTestCase {
    func parse(_ text: String) throws -> [Statement] {
        try ScriptParser().parse(text, file: "test.apdu").map(\.statement)
    }

    func testFileCommandsParse() throws {
        XCTAssertEqual(try parse("update 16 01 02 FF\nupdate 0 file doc.bin\nsave out.bin\nsave t.der TokenInfo\nwrite-bootstrap \"DM bootstrap: demo server\" new.wbxml"), [
            .update(offset: "16", hex: "0102FF", file: nil),
            .update(offset: "0", hex: nil, file: "doc.bin"),
            .save(path: "out.bin", name: nil),
            .save(path: "t.der", name: "TokenInfo"),
            .writeBootstrap(label: "DM bootstrap: demo server", file: "new.wbxml"),
        ])
        XCTAssertThrowsError(try parse("update 32768 00"), "past the 15-bit offset")
        XCTAssertThrowsError(try parse("update 0 XY"))
        XCTAssertThrowsError(try parse("write-bootstrap onlyalabel"))
    }

    func testPINCommandsTakeSourcesNeverValues() throws {
        XCTAssertEqual(try parse("verify\nverify 81 env:PIN\nchange-pin file:/run/old file:/run/new\nunblock-pin 01"), [
            .pin(.verify, reference: "01", sources: []),
            .pin(.verify, reference: "81", sources: ["env:PIN"]),
            .pin(.change, reference: "01", sources: ["file:/run/old", "file:/run/new"]),
            .pin(.unblock, reference: "01", sources: []),
        ])
        XCTAssertThrowsError(try parse("verify 1234"), "a PIN on the line is refused")
        XCTAssertThrowsError(try parse("change-pin 01 env:OLD"), "both values or neither")
        XCTAssertThrowsError(try parse("unblock-pin 01 12345678 4321"))
    }

    func testALineThatMayHoldAPINIsNotKeptInHistory() {
        XCTAssertFalse(ScriptParser.keepsInHistory("verify 1234"))
        XCTAssertFalse(ScriptParser.keepsInHistory("change-pin 01 1234 4321"))
        XCTAssertTrue(ScriptParser.keepsInHistory("verify 01"))
        XCTAssertTrue(ScriptParser.keepsInHistory("change-pin 01 env:OLD env:NEW"))
        XCTAssertTrue(ScriptParser.keepsInHistory("read binary 0 10"))
    }
}
