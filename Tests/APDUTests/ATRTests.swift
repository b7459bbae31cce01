import APDU
import XCTest

final class ATRTests: XCTestCase {
    func testT1CardWithHistoricalText() throws {
        let atr = try ATR(bytes: [UInt8](hex: "3B8C01646D626F6F742D7663617264DD"))
        XCTAssertEqual(atr.convention, .direct)
        XCTAssertEqual(atr.protocols, [1])
        XCTAssertEqual(atr.historicalText, "dmboot-vcard")
        XCTAssertEqual(atr.checkByte, 0xDD)
    }

    func testT0CardsDecodeClockFactorsAndCheckByteOnlyWhenRequired() throws {
        // A UICC ATR: TA1 = 96 (Fi 512, Di 32), T=0 plus global bytes (T=15), so a TCK.
        let atr = try ATR(bytes: [UInt8](hex: "3B9F96801FC78031E073FE211B63F100AD830F900094"))
        XCTAssertEqual(atr.protocols, [0])
        XCTAssertEqual(atr.checkByte, 0x94)
        XCTAssertEqual(atr.clockRateConversion?.fi, 512)
        XCTAssertEqual(atr.clockRateConversion?.di, 32)
        let plain = try ATR(bytes: [UInt8](hex: "3B02 14 50"))
        XCTAssertEqual(plain.protocols, [0])
        XCTAssertNil(plain.checkByte)
        XCTAssertEqual(plain.historicalBytes, [0x14, 0x50])
    }

    func testT0AndT1CardWithInterfaceGroups() throws {
        let atr = try ATR(bytes: [UInt8](hex: "3BFF1300008131FE4580318065B0846100FB120FFD829000EF"))
        XCTAssertEqual(atr.groups.count, 3)
        XCTAssertEqual(atr.protocols, [1])
        XCTAssertEqual(atr.historicalBytes.count, 15)
    }

    func testMalformedATRsAreRejectedWithTheReason() {
        XCTAssertThrowsError(try ATR(bytes: [0x3B])) { XCTAssertEqual($0 as? ATR.ParseError, .tooShort(1)) }
        XCTAssertThrowsError(try ATR(bytes: [0x3C, 0x00])) { XCTAssertEqual($0 as? ATR.ParseError, .invalidInitialByte(0x3C)) }
        XCTAssertThrowsError(try ATR(bytes: [UInt8](hex: "3B8C01646D62"))) { error in
            XCTAssertEqual(error as? ATR.ParseError, .truncated(expected: 15, actual: 6))
        }
        XCTAssertThrowsError(try ATR(bytes: [UInt8](hex: "3B8C01646D626F6F742D7663617264DE"))) { error in
            XCTAssertEqual(error as? ATR.ParseError, .checksumMismatch(expected: 0xDD, actual: 0xDE))
        }
        XCTAssertThrowsError(try ATR(bytes: [UInt8](hex: "3B021450FF"))) { error in
            XCTAssertEqual(error as? ATR.ParseError, .trailingBytes(1))
        }
    }

    func testHexParsingIsStrictAboutDigits() {
        XCTAssertEqual(try Hex.decode("00 a4:04"), [0x00, 0xA4, 0x04])
        XCTAssertThrowsError(try Hex.decode("0g")) { error in
            XCTAssertEqual(error as? Hex.ParseError, .invalidCharacter("g", position: 1))
        }
        XCTAssertThrowsError(try Hex.decode("123")) { error in
            XCTAssertEqual(error as? Hex.ParseError, .oddNumberOfDigits(3))
        }
        XCTAssertThrowsError(try Hex.decode("0\u{FF11}")) { error in
            XCTAssertEqual(error as? Hex.ParseError, .invalidCharacter("\u{FF11}", position: 1), "a fullwidth 1 is not a hex digit")
        }
    }
}
