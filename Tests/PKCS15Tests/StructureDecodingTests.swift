import APDU
@testable import PKCS15
import XCTest

/// Decoders against DER written by hand from PKCS#15 v1.1's ASN.1, not by
/// dmboot's own encoders.
final class StructureDecodingTests: XCTestCase {
    func testODFFindsTheDataObjectDirectoryAndSkipsOthers() throws {
        // A0 (PrKDF) -> 4401, A7 (DODF) -> 5033 with index 0 length 200, A4 (CDF) -> 4403
        let odf = try ObjectDirectory(bytes: [UInt8](hex: """
            A0 06 30 04 04 02 44 01
            A7 0D 30 0B 04 02 50 33 02 01 00 80 02 00 C8
            A4 06 30 04 04 02 44 03
            FF FF FF FF
            """))
        XCTAssertEqual(odf.entries.map(\.kind), [.privateKeys, .dataObjects, .certificates])
        XCTAssertEqual(odf.dataObjectDirectories, [PKCS15Path(path: [0x50, 0x33], index: 0, length: 200)])
    }

    func testTokenInfoGivesSerialManufacturerAndLabel() throws {
        let info = try TokenInfo(bytes: [UInt8](hex: """
            30 1D 02 01 00 04 04 01 02 03 04 0C 06 41 63 6D 65 20 43 80 07 54 6F 6B 65 6E 20 31 03 02 04 10
            """))
        XCTAssertEqual(info.version, 0)
        XCTAssertEqual(info.serialHex, "01020304")
        XCTAssertEqual(info.manufacturer, "Acme C")
        XCTAssertEqual(info.label, "Token 1")
    }

    /// oidDO { common { label "DM" }, class { }, [1] { OID 2.23.43.7.1, Path 6001 } }
    static let implicitOidDO = "A1 1A 30 04 0C 02 44 4D 30 00 A1 10 06 04 67 2B 07 01 30 08 04 02 60 01 02 02 00 40"

    func testOidDOInTheImplicitFormOfThePKCS15Module() throws {
        let entries = try DataObjectEntry.parseDirectory([UInt8](hex: Self.implicitOidDO), file: "EF(DODF)")
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].kind, .oid)
        XCTAssertEqual(entries[0].label, "DM")
        XCTAssertEqual(entries[0].oid, "2.23.43.7.1")
        XCTAssertEqual(entries[0].value, .path(PKCS15Path(path: [0x60, 0x01], index: 64)))
    }

    func testOidDOWithTheSequenceKeptInsideAndAnOpaqueDO() throws {
        let explicit = "A1 1E 30 04 0C 02 44 4D 30 02 0C 00 A1 12 30 10 06 04 67 2B 07 01 30 08 04 02 60 01 80 02 01 00"
        let opaque = "30 17 30 09 0C 07 43 6F 6E 66 69 67 31 30 00 A1 08 30 06 04 04 3F 00 50 15"
        let entries = try DataObjectEntry.parseDirectory([UInt8](hex: explicit + opaque + "00 00"), file: "EF(DODF)")
        XCTAssertEqual(entries.map(\.kind), [.oid, .opaque])
        XCTAssertEqual(entries[0].oid, "2.23.43.7.1")
        XCTAssertEqual(entries[0].applicationName, "")
        XCTAssertEqual(entries[0].value, .path(PKCS15Path(path: [0x60, 0x01], length: 256)))
        XCTAssertEqual(entries[1].label, "Config1")
        XCTAssertEqual(entries[1].value, .path(PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15])))
        let navigator = PKCS15Navigator(application: PKCS15Application(applicationID: [], path: nil, label: nil, foundBy: "aid"))
        XCTAssertEqual(navigator.classify(entries[0]), BootstrapObject.Kind.dm)
        XCTAssertEqual(navigator.classify(entries[1]), BootstrapObject.Kind.cp)
    }

    func testObjectIdentifiersRoundTrip() {
        XCTAssertEqual(ObjectIdentifier.encode("2.23.43.7.1"), [0x67, 0x2B, 0x07, 0x01])
        XCTAssertEqual(ObjectIdentifier.dotted([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]), "1.2.840.113549.1.1.1")
        XCTAssertNil(ObjectIdentifier.dotted([0x67, 0x2B, 0x87]))
    }

    func testDirectoryRecordNamesTheApplication() throws {
        let entry = try DirectoryEntry.parse(record: [UInt8](hex: "61 14 4F 0C A0 00 00 00 63 50 4B 43 53 2D 31 35 51 04 3F 00 50 15 FF FF"), number: 1)
        XCTAssertEqual(entry?.applicationID, PKCS15Application.standardAID)
        XCTAssertEqual(entry?.path, [0x3F, 0x00, 0x50, 0x15])
    }

    func testTheDemoCardCarriesTheIndependentlyEncodedFixture() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap/dm12-psk.wbxml")
        XCTAssertEqual(BuiltInProfilesAccess.demoBootstrap, [UInt8](try Data(contentsOf: fixture)))
    }
}
