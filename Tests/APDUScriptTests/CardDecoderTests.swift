@testable import APDUScript
import APDU
import XCTest

/// `decode`, `keys`, `cplc` and `status` read structures other people
/// published; the known answers below come from them, not from our simulator.
final class CardDecoderTests: XCTestCase {
    func bytes(_ hex: String) throws -> [UInt8] { try Hex.decode(hex) }

    /// GlobalPlatformPro, library/src/test/java/pro/javacard/gp/test/TestGPKeyInfo.java,
    /// testRSAKeyTemplate: five keys (three AES-256 at version 01, an RSA key
    /// of two components at 70, a DES key at 71). GPPro counts the RSA key once.
    func testKeyInformationTemplateFromGlobalPlatformPro() throws {
        let keys = try KeyInformation.parseTemplate(bytes("E020C00401018820C00402018820C00403018820C0060170A180A003C00401718010"))
        XCTAssertEqual(keys.count, 5)
        XCTAssertEqual(keys.map(\.identifier), [1, 2, 3, 1, 1])
        XCTAssertEqual(keys.map(\.version), [0x01, 0x01, 0x01, 0x70, 0x71])
        XCTAssertEqual(keys[0].components, [.init(type: 0x88, length: 32)])
        XCTAssertEqual(keys[3].components, [.init(type: 0xA1, length: 0x80), .init(type: 0xA0, length: 3)])
        XCTAssertEqual(keys[0].summary, "version 01 id 01  AES 32 bytes (AES-256)")
    }

    /// GlobalPlatformPro TestGPKeyInfo, testExtendedRSAKeyTemplate and
    /// testExtendedKeyTypeTemplateWithZeroLengths: the extended format (GP Card
    /// Specification v2.3 table 11-29), 4 and 14 keys.
    func testExtendedKeyInformationFromGlobalPlatformPro() throws {
        let rsa = try KeyInformation.parseTemplate(bytes("E021C00401018010C00402018010C00403018010C00D0173FFA10080A0000301840100"))
        XCTAssertEqual(rsa.count, 4)
        XCTAssertEqual(rsa[3].components, [.init(type: 0xA1, length: 0x80), .init(type: 0xA0, length: 3)])
        XCTAssertEqual(rsa[3].usage, [0x84])
        XCTAssertEqual(rsa[3].access, [0x00])
        let many = try KeyInformation.parseTemplate(bytes("E081B0C00A0120FF80001001000100C00A0220FF80001001000100C00A0320FF80001001000100C00A0101FF80001001000100C00A0201FF80001001000100C00A0301FF80001001000100C00A0102FF88001001000100C00E0202FF880010FF10000101000100C00A0302FF88001001000100C00A0103FF88001001000100C00E0203FF880010FF10000101000100C00A0303FF88001001000100C00A1403FF85001001000100C00A1503FF88001001000100"))
        XCTAssertEqual(many.count, 14)
        XCTAssertEqual(many[7].components, [.init(type: 0x88, length: 16), .init(type: 0x10, length: 1)])
        XCTAssertThrowsError(try KeyInformation.parseTemplate(bytes("E003C00101")))
    }

    /// The CPLC GlobalPlatformPro printed for a J3D card (andreas-mausch/docker-javacard,
    /// docs/globalplatformpro.md, "gp --info"), put back into its 42 bytes.
    func testCPLCFieldsAndDatesFromAGlobalPlatformProListing() throws {
        let cplc = try CPLC(bytes: bytes("9F7F2A" + "4790D321470000000000" + "2345" + "11111111" + "2222" + "0000" + "0000" + "0000"
                                         + "0000" + "1939" + "9738" + "11111111" + "0000" + "0000" + "00000000"))
        XCTAssertEqual(cplc.lines[0], "ICFabricator=4790")
        XCTAssertEqual(cplc.lines[1], "ICType=D321")
        XCTAssertEqual(cplc.lines[5], "ICFabricationDate=2345 (year ending in 2, day 345)")
        XCTAssertEqual(cplc.lines[6], "ICSerialNumber=11111111")
        XCTAssertEqual(cplc.lines[12], "ICPrePersonalizer=1939")
        // GPPro: "ICPrePersonalizationEquipmentDate=9738 (invalid date format)".
        XCTAssertEqual(cplc.lines[13], "ICPrePersonalizationEquipmentDate=9738 (not a YDDD date)")
        XCTAssertEqual(cplc.lines.count, 18)
        XCTAssertThrowsError(try CPLC(bytes: bytes("9F7F2A0000")))
    }

    /// GlobalPlatformPro, TestParseTags.testParseISD: one ISD entry, life cycle
    /// 07 INITIALIZED, privileges 80 = SecurityDomain; testPrivileges: 9EFE80 is 13 privileges.
    func testRegistryEntriesFromGlobalPlatformPro() throws {
        let isd = try RegistryEntry.parse(bytes("E3144F07A00000015100009F700107C50180EA028000"), p1: 0x80)
        XCTAssertEqual(isd.count, 1)
        XCTAssertEqual(isd[0].aid, try bytes("A0000001510000"))
        XCTAssertEqual(isd[0].lifeCycleName, "INITIALIZED")
        XCTAssertEqual(isd[0].privilegeList, ["SecurityDomain"])
        let full = RegistryEntry(kind: .issuerSecurityDomain, aid: [], lifeCycle: 0x0F, privileges: [0x9E, 0xFE, 0x80],
                                 loadFile: nil, version: nil, modules: [], associatedDomain: nil)
        XCTAssertEqual(full.privilegeList.count, 13)
        XCTAssertEqual(full.privilegeList.last, "ReceiptGeneration")
        let partial = try RegistryEntry.parse(bytes("E3464F08A0000000030000009F700101C5039EFE80CF0140CF0141CF0142CF0143CF0180CF0181CF0182CF0183C40BD276000005AAFFCAFE0001CE020001CC08A000000003000000"), p1: 0x80)
        XCTAssertEqual(partial[0].loadFile, try bytes("D276000005AAFFCAFE0001"))
        XCTAssertEqual(partial[0].version, [0, 1])
        XCTAssertEqual(partial[0].associatedDomain, try bytes("A000000003000000"))
        XCTAssertThrowsError(try RegistryEntry.parse(bytes("E3039F7001"), p1: 0x80))
    }

    /// open-ecard, FileInfoTest "parse FCP" (org.openecard.sc.iface.info): the FCP of
    /// a German ID card's EF.DIR: 256 bytes, working EF, transparent, 2F00, SFI 1E, active.
    func testFCPFromOpenEcard() throws {
        let fcp = try FileControlParameters(bytes: bytes("621a80020100c502005a82010183022f008801f08a0105a1038b0103"))
        XCTAssertEqual(fcp.size, 256)
        XCTAssertEqual(fcp.structure, .transparent)
        XCTAssertEqual(fcp.fileID, 0x2F00)
        XCTAssertEqual(fcp.shortFileID, 0x1E)
        XCTAssertEqual(fcp.lifeCycle, 0x05)
        XCTAssertEqual(fcp.summary, "EF 2F00 transparent, 256 bytes, operational (activated)")
        XCTAssertThrowsError(try FileControlParameters(bytes: bytes("6F05820138")))
        XCTAssertThrowsError(try FileControlParameters(bytes: bytes("A0020000")))
    }

    /// ETSI TS 102 221 table 11.5: a linear fixed EF gives record length and count after 82's first two bytes.
    func testRecordFileDescriptor() throws {
        let fcp = try FileControlParameters(bytes: bytes("620B82054221002301 83022F00".replacingOccurrences(of: " ", with: "")))
        XCTAssertEqual(fcp.structure, .linearFixed(recordLength: 0x23, records: 1))
        XCTAssertEqual(try FileControlParameters(bytes: bytes("6203820178")).isDedicatedFile, true)
    }

    /// pySim's dec_iccid: swap the nibbles of each byte, drop the trailing F.
    func testICCIDDigitsAsPySimReadsThem() throws {
        XCTAssertEqual(try ICCID.digits(bytes("98102143658709214365")), "89011234567890123456")
        XCTAssertEqual(try ICCID.digits(bytes("984406000000010000F1")), "8944600000001000001")
        XCTAssertEqual(try ICCID.lines(bytes("98102143658709214365")), ["ICCID 89011234567890123456"])
        XCTAssertEqual(try ICCID.lines(bytes("98102143658709214365F7")).count, 2)
        XCTAssertThrowsError(try ICCID.digits(bytes("9A10")))
    }

    func testHexDumpShowsOnlyPrintableASCII() {
        XCTAssertEqual(HexDump.lines([0x41, 0x1B, 0x5B, 0x32, 0x4A, 0x7F, 0x9B]),
                       ["0000  41 1B 5B 32 4A 7F 9B                             |A.[2J..|"])
        XCTAssertEqual(HexDump.lines(Array(repeating: 0x30, count: 17)).count, 2)
    }

    /// A label is card data: it reaches the terminal with its control characters escaped.
    func testDecodedTextFromTheCardIsEscaped() throws {
        let label = Array("A\u{1B}[2J".utf8)
        let common = [0x30, UInt8(label.count + 2), 0x0C, UInt8(label.count)] + label
        let entry = common + [0x30, 0x00, 0xA1, 0x06, 0x30, 0x04, 0x04, 0x02, 0x60, 0x01]
        let dodf = [0x30, UInt8(entry.count)] + entry
        let lines = try CardDecoder.decode(dodf, as: .dodf)
        XCTAssertEqual(lines.count, 1)
        XCTAssertFalse(lines[0].unicodeScalars.contains { $0.value == 0x1B }, lines[0])
    }

    func testAutoDecodingFollowsTheFirstTagOrTheHint() throws {
        XCTAssertEqual(try CardDecoder.decode(bytes("E012C00401308810C00402308810C00403308810"), as: .auto).first,
                       "version 30 id 01  AES 16 bytes (AES-128)")
        XCTAssertEqual(try CardDecoder.decode(bytes("3B8C01646D626F6F742D7663617264DD"), as: .auto)[1],
                       "  convention direct; protocols T=1")
        XCTAssertEqual(try CardDecoder.decode(bytes("98102143658709214365"), as: .auto, hint: .iccid), ["ICCID 89011234567890123456"])
        XCTAssertEqual(try CardDecoder.decode(bytes("A7063004040250 33".replacingOccurrences(of: " ", with: "")), as: .odf), ["DODF  5033"])
        let tree = try CardDecoder.decode(bytes("6F0884064142430A4546"), as: .tlv)
        XCTAssertEqual(tree, ["6F FCI template (8 bytes)", "  84 DF name (AID): 41 42 43 0A 45 46"])
    }
}
