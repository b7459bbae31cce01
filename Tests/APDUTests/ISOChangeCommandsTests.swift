@testable import APDU
import XCTest

/// The commands that change a card, byte for byte against the forms pySim
/// (osmocom pySim, pySim/commands.py: verify_chv, change_chv, unblock_chv)
/// sends for the same PINs: CLA 00, P2 the reference, each PIN as ASCII hex
/// right-padded with F to 16 digits (ETSI TS 102 221 9.5.1), old or PUK first.
final class ISOChangeCommandsTests: XCTestCase {
    /// pySim's rpad(b2h(code), 16), written out for "1234", "4321" and "12345678".
    static let pin1234 = "31323334FFFFFFFF", pin4321 = "34333231FFFFFFFF", puk = "3132333435363738"

    func testVerifyCarriesOnePaddedPINOrNothing() throws {
        let padded = try Hex.decode(Self.pin1234)
        XCTAssertEqual(try ISOCommand.verify(reference: 0x01, pin: padded).encoded().hexString, "0020000108" + Self.pin1234)
        // ISO/IEC 7816-4:2005 7.5.6: no data field asks for the tries left (63Cx) and counts nothing.
        XCTAssertEqual(try ISOCommand.verify(reference: 0x81).encoded().hexString, "00200081")
    }

    func testChangeAndResetRetryCounterCarryTwoBlocks() throws {
        XCTAssertEqual(try ISOCommand.changeReferenceData(reference: 0x01, current: try Hex.decode(Self.pin1234),
                                                      new: try Hex.decode(Self.pin4321)).encoded().hexString,
                       "0024000110" + Self.pin1234 + Self.pin4321)
        XCTAssertEqual(try ISOCommand.resetRetryCounter(reference: 0x01, resettingCode: try Hex.decode(Self.puk),
                                                    new: try Hex.decode(Self.pin4321)).encoded().hexString,
                       "002C000110" + Self.puk + Self.pin4321)
    }

    /// ISO/IEC 7816-4:2005 7.2.5 with P1 b8 = 0: P1-P2 is the 15-bit offset.
    func testUpdateBinaryPutsTheOffsetInP1P2() throws {
        XCTAssertEqual(try ISOCommand.updateBinary(offset: 0x0123, data: [0xAA]).encoded().hexString, "00D6012301AA")
        XCTAssertEqual(try ISOCommand.updateBinary(offset: 0x7FFF, data: [0x00]).encoded().hexString, "00D67FFF0100")
    }
}
