import Foundation
import JSONOutput
import XCTest

final class JSONOutputTests: XCTestCase {
    struct Figures: Encodable {
        let name: String
        let seconds: Double
    }

    struct Nested: Encodable {
        let figures: [Figures]
    }

    func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    func testADocumentIsPrettyPrintedWithSortedKeysAndSlashesAsTheyAre() throws {
        XCTAssertEqual(text(try JSONOutput.document(Figures(name: "a/b", seconds: 1.5))),
                       "{\n  \"name\" : \"a/b\",\n  \"seconds\" : 1.5\n}")
    }

    func testALineIsOneLineWithItsLineBreak() throws {
        XCTAssertEqual(text(try JSONOutput.line(Figures(name: "x", seconds: 2))), "{\"name\":\"x\",\"seconds\":2}\n")
    }

    /// A non-finite number has no JSON form (RFC 8259 §6): the encoder throws
    /// a classified error naming where it was, and nothing traps.
    func testANonFiniteNumberIsAThrownErrorNamingItsPlaceNotACrash() {
        for value in [Double.nan, .infinity, -.infinity] {
            let nested = Nested(figures: [Figures(name: "ok", seconds: 1), Figures(name: "bad", seconds: value)])
            XCTAssertThrowsError(try JSONOutput.document(nested)) { error in
                guard case .notRepresentable(let path, _) = error as? JSONOutputError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(path, ".figures[1].seconds")
                XCTAssertEqual((error as? JSONOutputError)?.exitStatus, .internalError)
            }
            XCTAssertThrowsError(try JSONOutput.line(nested))
        }
    }

    struct Card: Encodable {
        @NullWhenAbsent var label: String?
        var note: String?
    }

    func testAnAbsentNullWhenAbsentMemberIsNullWhereAPlainOptionalIsLeftOut() throws {
        XCTAssertEqual(text(try JSONOutput.line(Card(label: nil, note: nil))), "{\"label\":null}\n")
        XCTAssertEqual(text(try JSONOutput.line(Card(label: "L", note: "n"))), "{\"label\":\"L\",\"note\":\"n\"}\n")
    }

    func testTimesAreISO8601InUTCWithMilliseconds() throws {
        let time = Date(timeIntervalSince1970: 1_700_000_000.25)
        XCTAssertEqual(text(try JSONOutput.line([time])), "[\"2023-11-14T22:13:20.250Z\"]\n")
    }
}
