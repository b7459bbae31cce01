import Foundation
import TerminalText
import XCTest

final class TerminalTextTests: XCTestCase {
    func testClearScreenSequenceIsShownNotObeyed() {
        XCTAssertEqual(TerminalText.escape("Demo\u{1B}[2JServer"), "Demo\\x1B[2JServer")
    }

    func testCarriageReturnCannotOverprintAFakeOK() {
        XCTAssertEqual(TerminalText.escape("FAILED\rOK"), "FAILED\\rOK")
        XCTAssertEqual(TerminalText.escape("a\nb\tc"), "a\\nb\\tc")
    }

    func testEveryC0ControlAndDELAreEscaped() {
        for value in UInt32(0)...0x1F {
            let escaped = TerminalText.escape(String(Character(Unicode.Scalar(value)!)))
            XCTAssertTrue(escaped.hasPrefix("\\"), "U+\(String(value, radix: 16)) gave \(escaped.debugDescription)")
            XCTAssertTrue(escaped.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F })
        }
        XCTAssertEqual(TerminalText.escape("\u{7F}"), "\\x7F")
    }

    func testC1ControlsIncludingCSIAreEscaped() {
        XCTAssertEqual(TerminalText.escape("x\u{9B}2Jy\u{85}"), "x\\u{009B}2Jy\\u{0085}")
    }

    func testBidirectionalOverridesAndLineSeparatorsAreEscaped() {
        XCTAssertEqual(TerminalText.escape("abc\u{202E}fed\u{2066}\u{2028}"), "abc\\u{202E}fed\\u{2066}\\u{2028}")
    }

    func testPrintableTextIncludingNonASCIIIsUnchanged() {
        let text = "DemoServer ./DMAcc/Café – 日本 \\ \"quoted\" ✓"
        XCTAssertEqual(TerminalText.escape(text), text)
    }

    func testEscapingTwiceChangesNothing() {
        let once = TerminalText.escape("\u{1B}[2J\rOK\u{9B}\u{202E}")
        XCTAssertEqual(TerminalText.escape(once), once)
        XCTAssertEqual(TerminalText.escapeLines(once), once)
    }

    func testEscapeLinesKeepsLineBreaksOnly() {
        XCTAssertEqual(TerminalText.escapeLines("problems:\n  - a\u{1B}[2J\r\n  - b"), "problems:\n  - a\\x1B[2J\\r\n  - b")
    }

    func testInvalidUTF8BytesAreShownAsHex() {
        XCTAssertEqual(TerminalText.escape(bytes: [0x41, 0xFF, 0x1B, 0xC3, 0xA9, 0xC3]), "A\\xFF\\x1Bé\\xC3")
        // An overlong encoding of ESC and a UTF-16 surrogate are not UTF-8.
        XCTAssertEqual(TerminalText.escape(bytes: [0xC0, 0x9B, 0xED, 0xA0, 0x80]), "\\xC0\\x9B\\xED\\xA0\\x80")
        XCTAssertEqual(TerminalText.escape(bytes: Array("plain".utf8)), "plain")
    }

    func testJSONKeepsItsValueButHidesTerminalControls() throws {
        let value = "a\u{7F}b\u{9B}c\u{202E}d\u{2028}é"
        let data = try JSONSerialization.data(withJSONObject: ["v": value])
        let escaped = TerminalText.escapeJSON(String(decoding: data, as: UTF8.self))
        XCTAssertFalse(escaped.unicodeScalars.contains { TerminalText.isHidden($0) })
        XCTAssertTrue(escaped.contains("\\u009B"), escaped)
        let decoded = try JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        XCTAssertEqual(decoded?["v"], value)
    }
}
