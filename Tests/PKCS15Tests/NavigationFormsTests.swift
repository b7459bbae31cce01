import APDU
import CardSession
import CardSimulator
import CardTransport
import PKCS15
import XCTest

/// PKCS#15 forms other issuers write, in bytes laid out by hand from the
/// texts (not by dmboot's DER builder), issue 14 items 7 and 12.
final class NavigationFormsTests: XCTestCase {
    /// PKCS#15 v1.1 5.4.2 / OpenSC pkcs15.c c_asn1_ddo: DDO ::= SEQUENCE {
    /// oid, odfPath Path OPTIONAL, tokenInfoPath [0] Path OPTIONAL, ... } in
    /// the EF(DIR) template's tag 73; [0] is IMPLICIT, so it holds the Path's
    /// contents directly.
    func testTheDDOOfAnEFDIRTemplateGivesODFAndTokenInfoPaths() throws {
        let pkcs15OID = "2A864886F70D010F01"
        let ddo = tlv("73", tlv("06", pkcs15OID) + tlv("30", tlv("04", "3F0050154401")) + tlv("A0", tlv("04", "3F0050154402")))
        let record = tlv("61", tlv("4F", "A000000063504B43532D3135") + tlv("51", "3F005015") + ddo)
        let entry = try XCTUnwrap(try DirectoryEntry.parse(record: [UInt8](hex: record), number: 1))
        XCTAssertEqual(entry.odfPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x01]))
        XCTAssertEqual(entry.tokenInfoPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x02]))
        XCTAssertEqual(entry.path, [0x3F, 0x00, 0x50, 0x15])
    }

    /// OpenSC dir.c reads a transparent EF(DIR) as templates back to back;
    /// the padding after them ends the list.
    func testATransparentEFDIRHoldsTemplatesBackToBack() throws {
        let first = tlv("61", tlv("4F", "A000000001") + tlv("50", "41"))
        let second = tlv("61", tlv("4F", "A000000063504B43532D3135"))
        let entries = try DirectoryEntry.parse(transparent: [UInt8](hex: first + second + "FFFFFFFF"))
        XCTAssertEqual(entries.map(\.applicationID), [[0xA0, 0, 0, 0, 0x01], PKCS15Application.standardAID])
        XCTAssertEqual(entries.first?.label, "A")
    }

    /// ETSI TS 102 221 13.2: EF.ICCID holds BCD digits, low nibble first, F
    /// filling an odd count. 98 10 ... reads 89 01 ...
    func testEFICCIDDigitsAreNibbleSwapped() throws {
        XCTAssertEqual(ICCID(bytes: [UInt8](hex: "98101032547698103254"))?.digits, "89010123456789012345")
        XCTAssertEqual(ICCID(bytes: [UInt8](hex: "981010325476981032F4"))?.digits, "8901012345678901234")
        XCTAssertNil(ICCID(bytes: [UInt8](hex: "9A10")), "A is no digit")
        XCTAssertNil(ICCID(bytes: [UInt8](hex: "FFFF")), "no digit at all")
    }

    /// Issue 25 item 1: only "file not found" (ISO/IEC 7816-4 table 6, 6A82)
    /// says the card has no EF.ICCID. Any other refusal, such as the 6982 of
    /// a card still inside another client's secure channel, is an error,
    /// never a fallback to the PKCS#15 serial.
    func testOnly6A82MeansNoEFICCIDAndAnyOtherRefusalIsAnError() throws {
        XCTAssertNil(try ICCID.read(over: ISO7816Channel(link: Answering([0x6A, 0x82]))))
        for status: [UInt8] in [[0x69, 0x82], [0x69, 0x85], [0x6F, 0x00]] {
            XCTAssertThrowsError(try ICCID.read(over: ISO7816Channel(link: Answering(status)))) { error in
                XCTAssertEqual((error as? CardStatusError)?.status, StatusWord(UInt16(status[0]) << 8 | UInt16(status[1])))
            }
        }
    }

    /// A card answering every command with one status word.
    final class Answering: CardLink {
        let status: [UInt8]
        init(_ status: [UInt8]) { self.status = status }
        func transmit(raw command: [UInt8]) throws -> [UInt8] { status }
    }

    /// One DODF, three objects: a CP document carried directly in the DODF
    /// (ObjectValue direct [0], IMPLICIT OCTET STRING 80), a CP document in
    /// an EF the card does not have, and the DM bootstrap. The missing CP
    /// object is reported and the DM read goes on; a missing DM object ends it.
    func testDirectValuesAreReadAndAnUnreadableCPObjectIsReported() throws {
        let xml = Array("<wap-provisioningdoc/>".utf8)
        func label(_ text: String) -> String { tlv("30", tlv("0C", Hex.encode(Array(text.utf8)))) }
        let direct = tlv("30", label("Bootstrap") + tlv("30", "") + tlv("A1", tlv("80", Hex.encode(xml))))
        let missing = tlv("30", label("Config1") + tlv("30", "") + tlv("A1", tlv("30", tlv("04", "3F0050156009"))))
        let dm = tlv("A1", label("DM bootstrap") + tlv("30", "") + tlv("A1", tlv("06", "672B0701") + tlv("30", tlv("04", "6001"))))
        let dodf = direct + missing + dm
        let card = try formsCard(dodf: dodf)
        let result = try BootstrapReader(keys: nil).read(over: ISO7816Channel(link: Link(card)), atr: card.atr)
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.kind), [.cp, .dm])
        XCTAssertEqual(result.contents.bootstrapObjects[0].content, xml)
        XCTAssertNil(result.contents.bootstrapObjects[0].path)
        XCTAssertEqual(result.contents.bootstrapObjects[1].content, BuiltInProfiles.demoBootstrap)
        XCTAssertEqual(result.contents.unreadableObjects.map(\.label), ["Config1"])
        XCTAssertEqual(result.warnings.count, 1, "\(result.warnings)")
        XCTAssertTrue(result.contents.tokenInfo.serialNumber.isEmpty, "TokenInfo without serialNumber (ISO/IEC 7816-15)")
        XCTAssertEqual(result.identity.source, .none)
    }

    /// PKCS#15 v1.1 6.7: `ReferencedValue ::= CHOICE { path Path, url URL }`,
    /// URL a PrintableString; 6.2: CommonObjectFlags bit 0 `private`. Neither
    /// a URL nor a private object's value is document bytes: both are reported
    /// (issue 24 item 9), the EF of the private one is never read, and the DM
    /// object beside them is read as before.
    func testAURLValueAndAPrivateObjectAreReportedNotRead() throws {
        func common(_ text: String, flags: String = "") -> String { tlv("30", tlv("0C", Hex.encode(Array(text.utf8))) + flags) }
        let url = tlv("30", common("Bootstrap") + tlv("30", "") + tlv("A1", tlv("13", Hex.encode(Array("http://example.com/cp".utf8)))))
        let secret = tlv("30", common("Config1", flags: tlv("03", "0780")) + tlv("30", "") + tlv("A1", tlv("30", tlv("04", "6002"))))
        let dm = tlv("A1", common("DM bootstrap") + tlv("30", "") + tlv("A1", tlv("06", "672B0701") + tlv("30", tlv("04", "6001"))))
        let dodf = url + secret + dm
        let card = try formsCard(dodf: dodf, extra: [FileNode(fid: "6002", content: "3C612F3E")])
        let link = Link(card)
        let result = try BootstrapReader(keys: nil).read(over: ISO7816Channel(link: link), atr: card.atr)
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.kind), [.dm])
        XCTAssertEqual(result.contents.unreadableObjects.map(\.label), ["Bootstrap", "Config1"])
        XCTAssertEqual(result.contents.unreadableObjects.map(\.path), [nil, PKCS15Path(path: [0x60, 0x02])])
        XCTAssertTrue(result.contents.unreadableObjects[0].reason.contains("URL (http://example.com/cp)"))
        XCTAssertTrue(result.contents.unreadableObjects[1].reason.contains("private"))
        XCTAssertFalse(link.sent.contains { $0.count >= 7 && $0[1] == 0xA4 && $0.suffix(3).starts(with: [0x60, 0x02]) },
                       "the private object's EF is not even selected")
        XCTAssertEqual(result.warnings.count, 2, "\(result.warnings)")
    }

    /// A plain card whose ODF names one DODF (5033), with the demo bootstrap in 6001.
    private func formsCard(dodf: String, extra: [FileNode] = []) throws -> VirtualCard {
        try VirtualCard(profile: CardProfile(name: "forms", atr: BuiltInProfiles.demoATR, files: FileNode(fid: "3F00", children: [
            FileNode(fid: "5015", aid: Hex.encode(PKCS15Application.standardAID), children: [
                FileNode(fid: "5031", content: "A70630040402" + "5033"),
                FileNode(fid: "5032", content: "3005020100" + "0300"),
                FileNode(fid: "5033", content: dodf, size: dodf.count / 2 + 16),
                FileNode(fid: "6001", content: Hex.encode(BuiltInProfiles.demoBootstrap), size: 2400),
            ] + extra),
        ])))
    }

    final class Link: CardLink {
        let card: VirtualCard
        private(set) var sent: [[UInt8]] = []
        init(_ card: VirtualCard) { self.card = card }
        func transmit(raw command: [UInt8]) throws -> [UInt8] {
            sent.append(command)
            return card.process(command)
        }
    }

    /// A short-form TLV in hex: enough for these hand-built files.
    private func tlv(_ tag: String, _ value: String) -> String { tag + String(format: "%02X", value.count / 2) + value }
}
