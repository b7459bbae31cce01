import Foundation
@testable import PKCS15
import XCTest

/// Where a bootstrap ends inside a padded EF (issue 14 item 13). The WBXML
/// documents are the fixtures libwbxml's xml2wbxml encoded, not dmboot.
final class DocumentBoundaryTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")

    func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    /// WBXML 1.3 section 5: the document ends with the END of its root
    /// element, whatever padding (FF or 00) follows.
    func testEveryWBXMLFixtureEndsWhereItsRootElementCloses() throws {
        for name in ["dm12-psk.wbxml", "dm12-x509.wbxml", "dm112-legacy.wbxml", "dm12-psk-tnds.wbxml", "cp-w7.wbxml"] {
            let document = try fixture(name)
            for padding: UInt8 in [0xFF, 0x00] {
                let padded = document + [UInt8](repeating: padding, count: 300)
                XCTAssertEqual(DocumentBoundary.find(in: padded), .complete(document.count), name)
            }
            XCTAssertEqual(DocumentBoundary.find(in: Array(document.dropLast())), .needMore, "\(name) cut short")
            XCTAssertEqual(DocumentBoundary.find(in: Array(document.prefix(3))), .needMore, "\(name) header only")
        }
    }

    /// XML 1.0 2.2 leaves 00 out of Char, and FF is never a UTF-8 byte.
    func testXMLEndsAtTheFirstByteXMLCannotContain() throws {
        for name in ["dm12-psk.xml", "cp-w7.xml"] {
            let document = try fixture(name)
            XCTAssertEqual(DocumentBoundary.find(in: document + [0xFF, 0xFF]), .complete(document.count), name)
            XCTAssertEqual(DocumentBoundary.find(in: document + [0x00]), .complete(document.count), name)
            XCTAssertEqual(DocumentBoundary.find(in: document), .needMore, "\(name) may go on in the next chunk")
        }
    }

    /// XML 1.0 4.3.3: without an encoding declaration a document is UTF-8,
    /// where FF cannot occur; declaring ISO-8859-1 makes FF the letter 'ÿ'
    /// (ISO/IEC 8859-1 0xFF), so that document is read to the end of the EF.
    func testOnlyUTF8XMLEndsAtTheFirstFF() {
        let latin1 = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a n='".utf8) + [0xFF] + Array("'/>".utf8)
        XCTAssertEqual(DocumentBoundary.find(in: latin1 + [0xFF, 0xFF]), .unknown)
        XCTAssertEqual(DocumentBoundary.find(in: Array("<?xml version='1.0' encoding = 'iso-8859-1' ?><a/>".utf8) + [0xFF]),
                       .unknown)
        let utf8 = Array("<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>".utf8)
        XCTAssertEqual(DocumentBoundary.find(in: utf8 + [0xFF]), .complete(utf8.count))
        let undeclared = Array("<?xml version=\"1.0\"?><a/>".utf8)
        XCTAssertEqual(DocumentBoundary.find(in: undeclared + [0xFF]), .complete(undeclared.count))
        XCTAssertEqual(DocumentBoundary.find(in: Array("<?xml version=\"1.0\" enc".utf8)), .needMore,
                       "the declaration may go on in the next chunk")
        XCTAssertEqual(DocumentBoundary.find(in: Array("<?x".utf8)), .needMore)
        XCTAssertEqual(DocumentBoundary.find(in: Array("<?xml ver".utf8) + [0xFF, 0xFF]), .complete(9),
                       "a declaration cut by the padding")
    }

    /// Untrusted bytes: an END with nothing open, a multi-byte integer longer
    /// than five bytes, UTF-16 strings and unknown first bytes are `unknown`
    /// (the whole EF is then read), and nothing loops or traps.
    func testBytesThatAreNoKnownDocumentAreUnknown() {
        XCTAssertEqual(DocumentBoundary.find(in: [0x03, 0x01, 0x6A, 0x00, 0x01]), .unknown, "END before any element")
        XCTAssertEqual(DocumentBoundary.find(in: [0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), .unknown, "mb_u_int32 of six bytes")
        XCTAssertEqual(DocumentBoundary.find(in: [0x03, 0x01, 0x87, 0x77, 0x00, 0x6D, 0x03]), .unknown, "UTF-16 (MIBenum 1015)")
        XCTAssertEqual(DocumentBoundary.find(in: [0x30, 0x03, 0x02, 0x01, 0x00]), .unknown, "DER is no bootstrap")
        XCTAssertEqual(DocumentBoundary.find(in: []), .needMore)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = DocumentBoundary.find(in: [0x03] + bytes)
        }
    }

    /// An element without content (tag without bit 6) as the root ends the document at once.
    func testAnEmptyRootElementEndsTheDocument() {
        XCTAssertEqual(DocumentBoundary.find(in: [0x03, 0x01, 0x6A, 0x00, 0x2D, 0xFF, 0xFF]), .complete(5))
    }
}
