import APDU
import CardSimulator
import CardTransport
import SecureChannel
import XCTest

/// How long a protected command says its answer may be (issue 24 item 3).
final class WireLengthTests: XCTestCase {
    func open() throws -> (VirtualCardLink, SecureCardChannel) {
        let (_, link, channel) = try TestCards.selected()
        let host = SCP03Host(keys: try TestCards.keys(), level: .full, applicationID: PKCS15AID.value)
        return (link, try host.open(over: channel))
    }

    /// Amendment D 6.2.7: at level 33 the card pads the plain answer to whole
    /// AES blocks (ISO/IEC 9797-1 method 2, at least one byte) and adds an
    /// 8-byte R-MAC, so 250 plain bytes travel as 256 + 8 = 264: more than a
    /// short Le (ISO/IEC 7816-4 5.1: 256 at most) can ask. With extended
    /// length the wire asks Le 0000, the wrapped length, not the plain one.
    func testAPlainNeAbove239AsksAnExtendedLeWhenExtendedLengthIsOn() throws {
        let (link, secure) = try open()
        secure.allowsExtendedLength = true
        _ = try secure.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        let answer = try secure.expectSuccess(ISOCommand.readBinary(offset: 0, length: 250), "READ BINARY")
        XCTAssertEqual(answer.data, Array(TestCards.document.prefix(250)))
        let wire = try XCTUnwrap(link.sent.last)
        XCTAssertEqual(wire[4], 0x00, "extended form: \(wire.hexString)")
        XCTAssertEqual(Array(wire.suffix(2)), [0x00, 0x00], "Le 0000 (65536): \(wire.hexString)")
    }

    /// Without extended length a plain Ne of 239 or less still asks Le 00.
    func testAShortChannelStillAsksLe00() throws {
        let (link, secure) = try open()
        _ = try secure.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        XCTAssertEqual(try secure.expectSuccess(ISOCommand.readBinary(offset: 0, length: 239), "READ").data.count, 239)
        let wire = try XCTUnwrap(link.sent.last)
        XCTAssertEqual(wire.count, 5 + 8 + 1)
        XCTAssertEqual(wire.last, 0x00)
    }
}

/// Issue 24 item 9: an S8 host before an S16 key set (and the reverse).
final class ChallengeLengthTests: XCTestCase {
    /// Amendment D 7.1.1: the host challenge is 8 bytes in S8 mode and 16 in
    /// S16. A card that wants the other length answers INITIALIZE UPDATE with
    /// 6700; dmboot names the mode to set instead of "check the key version",
    /// and sends nothing more: no EXTERNAL AUTHENTICATE, no second try.
    func testAnS8HostBeforeAnS16CardIsToldToSetTheMode() throws {
        let (card, _, channel) = try TestCards.selected(TestCards.profile(i: "71"))
        let host = SCP03Host(keys: try TestCards.keys(), level: .full, mode: .s8, applicationID: PKCS15AID.value)
        XCTAssertThrowsError(try host.open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .challengeLengthRefused(hostMode: 8))
            XCTAssertTrue("\(error)".contains("\"mode\": \"S16\""), "\(error)")
        }
        XCTAssertEqual(card.externalAuthenticateCount, 0)
    }
}
