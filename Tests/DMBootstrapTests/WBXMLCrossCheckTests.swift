@testable import DMBootstrap
import XCTest

/// Our WBXML decoder against Debian's xml2wbxml (an independent encoder):
/// its output decodes to the same element tree as the XML it came from.
final class WBXMLCrossCheckTests: XCTestCase {
    /// The tree without the white space between elements that XML keeps and WBXML drops.
    func normalised(_ element: Element) -> Element {
        var copy = element
        copy.content = element.content.compactMap { piece in
            switch piece {
            case .element(let child): return .element(normalised(child))
            case .text(let text): return text.trimmed.isEmpty ? nil : .text(text)
            case .opaque(let bytes): return .text(String(decoding: bytes, as: UTF8.self))
            }
        }
        return copy
    }

    func testIndependentEncodingsDecodeToTheSourceTree() throws {
        for name in ["dm12-psk", "dm12-x509", "dm112-legacy", "dm12-psk-tnds", "cp-w7"] {
            let fromXML = try XMLReader().decode(Fixtures.bytes("\(name).xml")).root
            let fromWBXML = try WBXMLDecoder().decode(Fixtures.bytes("\(name).wbxml")).root
            XCTAssertEqual(normalised(fromWBXML), normalised(fromXML), name)
        }
    }

    func testHandWrittenWBXMLWithEveryGlobalToken() throws {
        // WBXML 1.3, public id 0 -> string table "-//SYNCML//DTD SyncML 1.2//EN", UTF-8,
        // SyncML( SyncHdr( VerDTD(STR_I "1.2"), VerProto(STR_T "DM/1.2") ), SyncBody( Final, LITERAL x(ENTITY 'é' OPAQUE 0102) ) )
        let table = Array("-//SYNCML//DTD SyncML 1.2//EN".utf8) + [0] + Array("DM/1.2".utf8) + [0] + Array("x".utf8) + [0]
        var bytes: [UInt8] = [0x03, 0x00, 0x00, 0x6A, UInt8(table.count)] + table
        bytes += [0x6D, 0x6C, 0x71, 0x03] + Array("1.2".utf8) + [0x00, 0x01]
        bytes += [0x72, 0x83, 0x1E, 0x01, 0x01]
        bytes += [0x6B, 0x12, 0x44, 0x25, 0x02, 0x81, 0x69, 0xC3, 0x02, 0x01, 0x02, 0x01, 0x01, 0x01]
        let document = try WBXMLDecoder().decode(bytes)
        XCTAssertEqual(document.publicID, "-//SYNCML//DTD SyncML 1.2//EN")
        XCTAssertEqual(document.root.child("SyncHdr")?.child("VerDTD")?.text, "1.2")
        XCTAssertEqual(document.root.child("SyncHdr")?.child("VerProto")?.text, "DM/1.2")
        let literal = try XCTUnwrap(document.root.child("SyncBody")?.child("x"))
        XCTAssertEqual(literal.content, [.text("é"), .opaque([0x01, 0x02])])
    }
}
