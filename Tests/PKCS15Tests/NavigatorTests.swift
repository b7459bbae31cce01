import APDU
import CardSession
import CardSimulator
import CardTransport
import CardCrypto
import Foundation
import PKCS15
import SecureChannel
import XCTest

/// The whole card half of a provisioning against every fixture card, in
/// process. The same profiles cross pcscd in the integration tests.
final class NavigatorTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    final class Link: CardLink {
        let card: VirtualCard
        init(_ card: VirtualCard) { self.card = card }
        func transmit(raw command: [UInt8]) throws -> [UInt8] { card.process(command) }
    }

    static var keys: SCP03Keys {
        get throws {
            let domain = BuiltInProfiles.demoSecurityDomain
            return try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac, dek: domain.dek, mode: nil, source: "test").0
        }
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("bootstrap/\(name)")))
    }

    func read(_ profile: String, level: UInt8 = 0x33, extended: BootstrapReader.ExtendedLength = .off,
              keys: Bool = true) throws -> BootstrapReader.Result {
        let card = try VirtualCard(profile: CardProfile.load(from: Self.fixtures.appendingPathComponent("cards/\(profile).json")))
        var reader = BootstrapReader(keys: keys ? try Self.keys : nil)
        reader.level = try SecurityLevel(level)
        reader.extendedLength = extended
        return try reader.read(over: ISO7816Channel(link: Link(card)), atr: card.atr)
    }

    /// SELECT + READ of EF.ICCID, SELECT + READ RECORD of EF(DIR) (its DDO
    /// may move ODF and TokenInfo, PKCS#15 v1.1 5.4), SELECT AID + IU + EA +
    /// (SELECT + READs) for ODF, TokenInfo, DODF and each document (read up
    /// to its end, not the EF's).
    static func minimum(documents: [Int], chunk: Int = 239) -> Int {
        2 + 2 + 3 + 3 * 2 + documents.map { 1 + ($0 + chunk - 1) / chunk }.reduce(0, +)
    }

    func testOneDMBootstrapAtTheMinimumAPDUCount() throws {
        let result = try read("one-dm")
        let objects = try result.contents.requireDMBootstrap()
        XCTAssertEqual(objects.map(\.content), [try Self.fixture("dm12-x509.wbxml")])
        XCTAssertEqual(objects[0].oid, "2.23.43.7.1")
        XCTAssertEqual(result.contents.tokenInfo.serialHex, "0000CAFE0001")
        XCTAssertEqual(result.apduCount, Self.minimum(documents: [922]))
    }

    func testTwoDMBootstrapsAreBothReadInCardOrder() throws {
        let result = try read("two-dm")
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.label),
                       ["DM bootstrap: demo server", "DM bootstrap: backup server"])
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.content),
                       [try Self.fixture("dm12-psk.wbxml"), try Self.fixture("dm12-x509.wbxml")])
        // The first EF is 2400 bytes of which 2275 are the document: reading
        // stops where the WBXML root element closes, so the padding costs no read.
        XCTAssertEqual(result.apduCount, Self.minimum(documents: [2275, 922]))
    }

    func testCPAndDMBootstrapsAreReportedSideBySide() throws {
        let result = try read("cp-and-dm")
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.kind), [.cp, .dm])
        XCTAssertEqual(result.contents.bootstrapObjects[0].label, "Bootstrap")
        XCTAssertEqual(result.contents.bootstrapObjects[0].content, try Self.fixture("cp-w7.wbxml"))
    }

    func testABootstrapOverOneKilobyteWithAndWithoutExtendedLength() throws {
        let short = try read("large-dm")
        XCTAssertEqual(short.contents.bootstrapObjects.first?.content, try Self.fixture("dm12-psk.wbxml"))
        XCTAssertEqual(short.apduCount, Self.minimum(documents: [2275]), "the 4096-byte EF is read up to the document's end")
        let extended = try read("large-dm", extended: .on)
        XCTAssertEqual(extended.contents.bootstrapObjects.first?.content, try Self.fixture("dm12-psk.wbxml"))
        XCTAssertEqual(extended.apduCount, 2 + 2 + 3 + 4 * 2, "one READ BINARY per file")
    }

    func testAPathWithOffsetAndLengthReadsExactlyThatRange() throws {
        let result = try read("offset-length")
        let object = try XCTUnwrap(result.contents.bootstrapObjects.first)
        XCTAssertEqual(object.path, PKCS15Path(path: [0x60, 0x01], index: 64, length: 922))
        XCTAssertEqual(object.content, try Self.fixture("dm12-x509.wbxml"))
        XCTAssertEqual(result.apduCount, Self.minimum(documents: [922]))
    }

    func testT0CardsChainEveryProtectedResponse() throws {
        let result = try read("t0-two-dm")
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.content),
                       [try Self.fixture("dm12-psk.wbxml"), try Self.fixture("dm12-x509.wbxml")])
        XCTAssertGreaterThan(result.apduCount, Self.minimum(documents: [2275, 922]), "GET RESPONSE rounds add APDUs")
    }

    func testTheApplicationIsFoundThroughEFDIRWhenItsAIDIsNotSelectable() throws {
        let result = try read("dir-only")
        XCTAssertEqual(result.contents.application.foundBy, "ef-dir")
        XCTAssertEqual(result.contents.application.path, [0x3F, 0x00, 0x50, 0x15])
        XCTAssertEqual(result.contents.bootstrapObjects.count, 1)
    }

    func testNegativeCardsEachFailWithTheirOwnError() throws {
        XCTAssertThrowsError(try read("no-pkcs15")) { XCTAssertEqual($0 as? PKCS15Error, .noPKCS15Application) }
        XCTAssertThrowsError(try read("no-dm").contents.requireDMBootstrap()) {
            XCTAssertEqual($0 as? PKCS15Error, .noBootstrapObject)
        }
        XCTAssertThrowsError(try read("outside-app")) {
            XCTAssertEqual($0 as? PKCS15Error, .pathOutsideApplication(path: "3F00/2FE2"))
        }
        XCTAssertThrowsError(try read("short-file")) {
            XCTAssertEqual($0 as? PKCS15Error, .fileShorterThanDeclared(path: "6001 offset 0 length 2000", declared: 2000, actual: 922))
        }
    }

    func testALevelTooLowForTheBootstrapEFIsRefusedByTheCard() throws {
        XCTAssertThrowsError(try read("one-dm", level: 0x13)) { error in
            XCTAssertEqual((error as? CardStatusError)?.status, StatusWord(0x6982), "\(error)")
        }
        XCTAssertThrowsError(try read("one-dm", keys: false)) { error in
            XCTAssertEqual((error as? CardStatusError)?.status, StatusWord(0x6982), "\(error)")
        }
    }

    func testDirectoryOnlyReadsNoBootstrapEF() throws {
        let card = try VirtualCard(profile: CardProfile.load(from: Self.fixtures.appendingPathComponent("cards/two-dm.json")))
        var reader = BootstrapReader(keys: nil)
        reader.readsObjects = false
        let result = try reader.read(over: ISO7816Channel(link: Link(card)), atr: card.atr)
        XCTAssertEqual(result.contents.dataObjects.count, 2)
        XCTAssertTrue(result.contents.bootstrapObjects.isEmpty)
        XCTAssertEqual(result.apduCount, 2 + 2 + 1 + 3 * 2)
    }
}
