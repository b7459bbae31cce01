@testable import DMBootstrap
import XCTest

/// Hostile textual XML: the shapes that made Foundation's XMLParser trap
/// (issue 16, item 1), entities, and the size limits every decoder shares.
final class XMLInputTests: XCTestCase {
    func decode(_ text: [UInt8]) throws -> DecodedBootstrap { try BootstrapDecoder().decode(text) }

    let account = """
    <Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc/Demo/ServerID</LocURI></Target><Data>demo</Data></Item></Add>
    """

    func syncML(_ body: String) -> [UInt8] {
        Array("<SyncML><SyncHdr/><SyncBody>\(body)</SyncBody></SyncML>".utf8)
    }

    func testInvalidUTF8IsRefusedWithItsPosition() {
        // The four places the independent fuzzing run found the trap: an
        // element name, an attribute name, a processing-instruction target
        // and an entity reference, each holding a byte that is not UTF-8.
        let shapes: [(String, [UInt8])] = [
            ("element name", Array("<SyncML><Sync".utf8) + [0xC3, 0x28] + Array("Body/></SyncML>".utf8)),
            ("attribute name", Array("<SyncML a".utf8) + [0xFF] + Array("=\"1\"/>".utf8)),
            ("processing-instruction target", Array("<?p".utf8) + [0xE2, 0x82] + Array(" x?><SyncML/>".utf8)),
            ("entity reference", Array("<SyncML>&a".utf8) + [0xF0, 0x9F] + Array(";</SyncML>".utf8)),
            ("second line", Array("<SyncML>\n  <S".utf8) + [0x80] + Array("/></SyncML>".utf8)),
        ]
        let expected: [XMLDocumentError] = [
            .invalidUTF8(offset: 13, line: 1, column: 14),
            .invalidUTF8(offset: 9, line: 1, column: 10),
            .invalidUTF8(offset: 3, line: 1, column: 4),
            .invalidUTF8(offset: 10, line: 1, column: 11),
            .invalidUTF8(offset: 13, line: 2, column: 5),
        ]
        for ((name, bytes), expected) in zip(shapes, expected) {
            XCTAssertThrowsError(try decode(bytes), name) { error in
                XCTAssertEqual(error as? XMLDocumentError, expected, name)
                XCTAssertTrue("\(error)".contains("not valid UTF-8 at byte offset"), "\(error)")
            }
        }
    }

    func testTheInvalidShapesAlsoFailInsideLibxml2WhenTheyGetThere() {
        // Bytes declared Latin-1 are characters, not an error; a name that is
        // not a name is libxml2's error, reported with line and column.
        let latin1 = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><SyncML><SyncBody>".utf8)
            + Array(account.utf8) + Array("<Add><Item><Target><LocURI>./DMAcc/Demo/Name</LocURI></Target><Data>".utf8)
            + [0xE9] + Array("</Data></Item></Add></SyncBody></SyncML>".utf8)
        XCTAssertEqual(try decode(latin1).accounts.first?.text("Name"), "é")
        XCTAssertThrowsError(try decode(Array("<SyncML><1a/></SyncML>".utf8))) { error in
            guard case .malformed(let line, let column, _)? = error as? XMLDocumentError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 1)
            XCTAssertGreaterThan(column, 0)
        }
    }

    func testEntitiesAreRefusedNotEmptied() {
        let cases: [(String, String, XMLDocumentError)] = [
            ("undefined", "<SyncML>&nothing;</SyncML>", .undefinedEntity(line: 1)),
            ("undefined in an attribute", "<SyncML a=\"&nothing;\"/>", .undefinedEntity(line: 1)),
            ("undefined with an external subset",
             "<!DOCTYPE SyncML SYSTEM \"http://example.org/x.dtd\">\n<SyncML>&nothing;</SyncML>", .undefinedEntity(line: 2)),
            ("external", "<!DOCTYPE SyncML [<!ENTITY leak SYSTEM \"file:///etc/passwd\">]><SyncML>&leak;</SyncML>",
             .entityDeclared(line: 1)),
            ("internal", "<!DOCTYPE SyncML [\n<!ENTITY a \"aaaa\">]><SyncML>&a;</SyncML>", .entityDeclared(line: 2)),
            ("parameter", "<!DOCTYPE SyncML [<!ENTITY % p SYSTEM \"http://example.org/p\"> %p;]><SyncML/>",
             .entityDeclared(line: 1)),
        ]
        for (name, xml, expected) in cases {
            XCTAssertThrowsError(try XMLReader().decode(Array(xml.utf8)), name) { error in
                XCTAssertEqual(error as? XMLDocumentError, expected, name)
            }
        }
    }

    func testPredefinedEntitiesAndCharacterReferencesStillRead() throws {
        let body = """
        <Add><Item><Target><LocURI>./DMAcc/Demo/ServerID</LocURI></Target><Data>a&amp;b&lt;&#x41;&#66;<![CDATA[<c>]]></Data></Item></Add>
        """
        XCTAssertEqual(try decode(syncML(body)).accounts.first?.serverID, "a&b<AB<c>")
    }

    func testAnAtomicWithThirtyTwoThousandChildrenIsReadInOnePass() throws {
        // Issue 16, item 2: each child looked up its parent's Meta among all
        // the children again, 32,000 x 32,000 steps.
        let body = "<Atomic><CmdID>1</CmdID>" + String(repeating: "<Final/>", count: 32_000) + account + "</Atomic>"
        let decoded = try decode(syncML(body))
        XCTAssertEqual(decoded.accounts.first?.serverID, "demo")
        XCTAssertEqual(decoded.ignoredCommands, [])
    }

    func items(_ count: Int) -> String {
        // In reverse path order, the worst case for a sorted array.
        (0..<count).reversed().map {
            "<Item><Target><LocURI>./DMAcc/Demo/Ext/\($0)</LocURI></Target><Data>v</Data></Item>"
        }.joined()
    }

    func testAnAccountWithManyNodesIsReadInOnePassAndThousandsAreRefused() throws {
        let count = DecodingLimits.maxNodesPerAccount - 2
        let nodes = try XCTUnwrap(try decode(syncML(account + "<Add>" + items(count) + "</Add>")).accounts.first).nodes
        XCTAssertEqual(nodes.count, count + 2, "ServerID, Ext and its leaves")
        XCTAssertEqual(nodes.map(\.path), nodes.map(\.path).sorted())
        // 8,000 nodes: validation looks up each AppAddr's ports among all of an account's nodes.
        XCTAssertThrowsError(try decode(syncML(account + "<Add>" + items(8_000) + "</Add>"))) {
            XCTAssertEqual($0 as? BootstrapError,
                           .limitExceeded("account Demo has more than \(DecodingLimits.maxNodesPerAccount) nodes"))
        }
    }

    /// Found by the tnds fuzz target: a path of thousands of segments made
    /// one interior node per segment, each as long as the path so far.
    func testPathsDeeperThanAnAccountAreRefused() {
        let deep = "./DMAcc/Demo/" + Array(repeating: "a", count: 2_000).joined(separator: "/")
        let syncMLDocument = syncML(account + "<Add><Item><Target><LocURI>\(deep)</LocURI></Target><Data>v</Data></Item></Add>")
        let tnds = Array("""
        <MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName><Path>\(deep)</Path><Value>v</Value></Node></MgmtTree>
        """.utf8)
        for document in [syncMLDocument, tnds] {
            XCTAssertThrowsError(try decode(document)) {
                XCTAssertEqual($0 as? BootstrapError, .limitExceeded(
                    "a node path has more than \(DecodingLimits.maxPathSegments) segments below its account"))
            }
        }
        let legal = "./DMAcc/Demo/" + Array(repeating: "a", count: DecodingLimits.maxPathSegments).joined(separator: "/")
        let nodes = try? decode(syncML(account + "<Add><Item><Target><LocURI>\(legal)</LocURI></Target><Data>v</Data></Item></Add>"))
            .accounts.first?.nodes
        XCTAssertEqual(nodes?.count, DecodingLimits.maxPathSegments + 1, "ServerID and one node per segment")
    }

    func testLimitsRefuseWhatNoBootstrapReaches() {
        let wide = syncML(String(repeating: "<Final/>", count: DecodingLimits.maxElements))
        XCTAssertThrowsError(try decode(wide)) {
            XCTAssertEqual($0 as? XMLDocumentError, .tooManyElements(limit: DecodingLimits.maxElements))
        }
        let large = syncML("<!--" + String(repeating: "x", count: DecodingLimits.maxBytes) + "-->")
        XCTAssertThrowsError(try decode(large)) {
            XCTAssertEqual($0 as? XMLDocumentError, .tooLarge(bytes: large.count, limit: DecodingLimits.maxBytes))
        }
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        XCTAssertThrowsError(try XMLReader().decode(Array(deep.utf8))) { error in
            XCTAssertTrue("\(error)".contains("nest deeper"), "\(error)")
        }
    }

    func testWBXMLLimits() throws {
        // One 60,000-byte string-table entry referenced 20 times: 1.2 MB of text from 60 kB.
        let entry = [UInt8](repeating: 0x41, count: 60_000) + [0x00]
        var bytes: [UInt8] = [0x03, 0xA4, 0x01, 0x6A, 0x83, 0xD4, 0x61] + entry + [0x6D]
        for _ in 0..<20 { bytes += [0x83, 0x00] }
        bytes.append(0x01)
        XCTAssertThrowsError(try WBXMLDecoder().decode(bytes)) { error in
            guard case .tooMuchReferencedText? = error as? WBXMLError else { return XCTFail("\(error)") }
        }
        let many = [UInt8]([0x03, 0xA4, 0x01, 0x6A, 0x00, 0x6D]) + [UInt8](repeating: 0x12, count: DecodingLimits.maxElements)
            + [0x01]
        XCTAssertThrowsError(try WBXMLDecoder().decode(many)) { error in
            guard case .tooManyElements? = error as? WBXMLError else { return XCTFail("\(error)") }
        }
        let large = [UInt8](repeating: 0x03, count: DecodingLimits.maxBytes + 1)
        XCTAssertThrowsError(try WBXMLDecoder().decode(large)) {
            XCTAssertEqual($0 as? WBXMLError, .tooLarge(bytes: large.count, limit: DecodingLimits.maxBytes))
        }
    }
}
