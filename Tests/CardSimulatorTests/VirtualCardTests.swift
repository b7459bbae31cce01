import APDU
@testable import CardSimulator
import XCTest

final class VirtualCardTests: XCTestCase {
    static let aid = "A000000063504B43532D3135"
    static let fileBody = (0..<600).map { UInt8($0 % 251) }

    func makeCard(chaining: CardProfile.ResponseChaining = .none, shortRead: CardProfile.ShortRead = .warning,
                  extended: Bool = true) throws -> VirtualCard {
        try VirtualCard(profile: CardProfile(
            name: "test", atr: BuiltInProfiles.demoATR, responseChaining: chaining, shortRead: shortRead,
            extendedLength: extended, maxResponseLength: 1024,
            files: FileNode(fid: "3F00", children: [
                FileNode(fid: "2F00", records: ["6100", "61020000"]),
                FileNode(fid: "5015", aid: Self.aid, children: [
                    FileNode(fid: "5031", content: Hex.encode(Self.fileBody), sfi: 1),
                    FileNode(fid: "5032", content: "0102", size: 6),
                ]),
            ])))
    }

    func send(_ card: VirtualCard, _ hex: String) -> String {
        card.process([UInt8](hex: hex)).hexString
    }

    func testSelectByAIDReturnsFCIWithTheName() throws {
        let card = try makeCard()
        let response = send(card, "00A404000C\(Self.aid)00")
        XCTAssertTrue(response.hasPrefix("6F"))
        XCTAssertTrue(response.contains("840C\(Self.aid)"))
        XCTAssertTrue(response.hasSuffix("9000"))
    }

    func testSelectWithoutFCIAnswersOnlyTheStatus() throws {
        let card = try makeCard()
        XCTAssertEqual(send(card, "00A4040C0C\(Self.aid)"), "9000")
        XCTAssertEqual(send(card, "00A4000C025031"), "9000")
        XCTAssertEqual(send(card, "00A4000C025099"), "6A82")
    }

    func testSelectByPathFromMFAndFromCurrentDF() throws {
        let card = try makeCard()
        XCTAssertEqual(send(card, "00A4080C0450155032"), "9000")
        XCTAssertEqual(send(card, "00B0000006"), "0102FFFFFFFF9000")
        XCTAssertEqual(send(card, "00A4080C063F0050155031"), "9000", "a path may start with 3F00")
        XCTAssertEqual(send(card, "00A4090C025032"), "9000")
        XCTAssertEqual(send(card, "00A4080C0450155099"), "6A82")
    }

    func testReadBinaryHonoursOffsets() throws {
        let card = try makeCard()
        _ = send(card, "00A4080C0450155031")
        XCTAssertEqual(send(card, "00B0000004"), "000102039000")
        XCTAssertEqual(send(card, "00B0010002"), Hex.encode(Self.fileBody[256..<258]) + "9000")
        XCTAssertEqual(send(card, "00B0025802"), "6B00", "offset 600 + 2 is past the end")
        XCTAssertEqual(send(card, "00B0025600"), Hex.encode(Self.fileBody[598...]) + "9000",
                       "Le 00 takes what is left")
        XCTAssertEqual(send(card, "00B0025610"), Hex.encode(Self.fileBody[598...]) + "6282")
    }

    func testReadBinaryBySFISelectsTheFile() throws {
        let card = try makeCard()
        _ = send(card, "00A4040C0C\(Self.aid)")
        XCTAssertEqual(send(card, "00B0810002"), "00019000")
    }

    func testOddReadBinaryTakesTheOffsetFromDO54() throws {
        let card = try makeCard()
        _ = send(card, "00A4080C0450155031")
        XCTAssertEqual(send(card, "00B10000045402010002"), "5302" + Hex.encode(Self.fileBody[256..<258]) + "9000")
    }

    func testExtendedReadReturnsLargeChunksOrIsRefused() throws {
        let card = try makeCard()
        _ = send(card, "00A4080C0450155031")
        let response = card.process([UInt8](hex: "00B00000000258"))
        XCTAssertEqual(Array(response.dropLast(2)), Self.fileBody)
        let shortOnly = try makeCard(extended: false)
        _ = send(shortOnly, "00A4080C0450155031")
        XCTAssertEqual(send(shortOnly, "00B00000000258"), "6700")
    }

    func testT0StyleCardsAnnounceDataWith61xx() throws {
        let card = try makeCard(chaining: .t0)
        _ = send(card, "00A4080C0450155031")
        XCTAssertEqual(send(card, "00B0000004"), "6104")
        XCTAssertEqual(send(card, "00C0000002"), "00016102")
        XCTAssertEqual(send(card, "00C0000002"), "02039000")
        XCTAssertEqual(send(card, "00C0000002"), "6985", "nothing left to get")
    }

    func testWrongLengthCardsAnswer6Cxx() throws {
        let card = try makeCard(shortRead: .wrongLength)
        _ = send(card, "00A4080C0450155032")
        XCTAssertEqual(send(card, "00B0000010"), "6C06")
        XCTAssertEqual(send(card, "00B0000006"), "0102FFFFFFFF9000")
    }

    func testReadRecordReturnsEachRecord() throws {
        let card = try makeCard()
        _ = send(card, "00A4000C022F00")
        XCTAssertEqual(send(card, "00B2010400"), "61009000")
        XCTAssertEqual(send(card, "00B2020400"), "610200009000")
        XCTAssertEqual(send(card, "00B2030400"), "6A83")
    }

    func testManageChannelOpensIndependentChannels() throws {
        let card = try makeCard()
        XCTAssertEqual(send(card, "0070000001"), "019000")
        XCTAssertEqual(send(card, "01A4080C0450155032"), "9000")
        XCTAssertEqual(send(card, "00B0000002"), "6986", "the basic channel has no current EF")
        XCTAssertEqual(send(card, "01B0000002"), "01029000")
        XCTAssertEqual(send(card, "00708001"), "9000")
        XCTAssertEqual(send(card, "01B0000002"), "6881")
    }

    func testUnknownInstructionsAndMalformedCommands() throws {
        let card = try makeCard()
        XCTAssertEqual(send(card, "00EE0000"), "6D00")
        XCTAssertEqual(send(card, "00A4"), "6700")
    }

    func testProfilesAreValidated() {
        let bad = CardProfile(name: "bad", atr: "3B021450", files: FileNode(fid: "3F00", children: [
            FileNode(fid: "50", content: "00"),
        ]))
        XCTAssertThrowsError(try VirtualCard(profile: bad)) { error in
            XCTAssertEqual(error as? ProfileError, .invalid("3F00/50: fid \"50\" is not two hex bytes"))
        }
        let badATR = CardProfile(name: "bad", atr: "3C00", files: FileNode(fid: "3F00", children: []))
        XCTAssertThrowsError(try VirtualCard(profile: badATR))
    }

    func testProfileFilesLoadContentRelativeToTheProfile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([0xCA, 0xFE]).write(to: folder.appendingPathComponent("doc.bin"))
        let json = """
        {"name": "file", "atr": "3B021450",
         "files": {"fid": "3F00", "children": [{"fid": "5040", "contentFile": "doc.bin"}]}}
        """
        try Data(json.utf8).write(to: folder.appendingPathComponent("card.json"))
        let card = try VirtualCard(profile: CardProfile.load(from: folder.appendingPathComponent("card.json")))
        XCTAssertEqual(send(card, "00A4000C025040"), "9000")
        XCTAssertEqual(send(card, "00B0000000"), "CAFE9000")
    }

    func testFedCardsGetDistinctSerialNumbersUnderTheProfilesPrefix() throws {
        let serials = (0..<300).compactMap { CardFeeder.profile(BuiltInProfiles.demo, numbered: $0).pkcs15?.serialNumber }
        XCTAssertEqual(Set(serials).count, 300)
        XCTAssertEqual(serials[0], "44454D4F00000000")
        XCTAssertEqual(serials[299], "44454D4F0000012B")
        let plain = try makeCard().profile
        XCTAssertEqual(CardFeeder.profile(plain, numbered: 7), plain, "a card without PKCS#15 keeps its profile")
    }

    func testARefusedExternalAuthenticateIsCountedAndClosesTheSession() throws {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        card.faults.refuseExternalAuthenticate = true
        XCTAssertEqual(send(card, "8482330010" + String(repeating: "00", count: 16)), "6300")
        XCTAssertEqual(send(card, "8482330010" + String(repeating: "00", count: 16)), "6300")
        XCTAssertEqual(card.externalAuthenticateCount, 2)
    }

    /// ETSI TS 102 221 §13.2, EF ICCID: the identification number is 10 bytes
    /// of BCD, two digits per byte with the nibbles swapped, padded with F.
    /// Every card the simulator makes keeps that size: the demo card read
    /// through SELECT and READ BINARY, each personality and each fed card.
    func testEFICCIDIsTheTenBytesTS102221Section13_2Gives() throws {
        let demo = try VirtualCard(profile: BuiltInProfiles.demo)
        XCTAssertEqual(send(demo, "00A4080C022FE2"), "9000")
        XCTAssertEqual(send(demo, "00B0000000"), "98102143658709214365" + "9000",
                       "ICCID 89011234567890123456: 20 digits in 10 bytes, nothing after")
        let profiles = [BuiltInProfiles.demo] + Personality.allCases.map(\.profile)
            + [0, 7, 99_999_999].map { CardFeeder.profile(BuiltInProfiles.demo, numbered: $0) }
        for profile in profiles {
            let content = try XCTUnwrap(profile.files.children?.first { $0.fid == "2FE2" }?.content, profile.name)
            XCTAssertEqual(try Hex.decode(content).count, 10, "\(profile.name): EF.ICCID is \(content)")
        }
        XCTAssertEqual(CardFeeder.iccidContent(number: 7), "98100000000000000070", "8901 0000 0000 0000 0007")
        XCTAssertEqual(CardFeeder.iccidContent(number: 12_345_678, prefix: "8949"), "98940000000021436587",
                       "prefix 8949, zeros to 12 digits, then 1234 5678")
    }
}
