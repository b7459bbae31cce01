import APDU
import CardTransport
import XCTest

/// Transport rules real UICCs hold dmboot to (issue 14 items 2-4).
final class FieldInteroperabilityTests: XCTestCase {
    /// OpenSC apdu.c sc_apdu2bytes: "in case of T0 no Le byte is added" to a
    /// case 4 APDU; the card's 61xx then leads to GET RESPONSE.
    func testOnT0ACase4CommandTravelsWithoutLeAndItsDataComesByGetResponse() throws {
        let link = ScriptedLink([
            ("00A4040402A0FF", "6104"),
            ("00C0000004", "6202830190 00".replacingOccurrences(of: " ", with: "")),
        ], protocol: .t0)
        let response = try ISO7816Channel(link: link).transmit(
            CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x04, data: [0xA0, 0xFF], expectedLength: 256))
        XCTAssertEqual(response.data, [0x62, 0x02, 0x83, 0x01])
        XCTAssertTrue(link.isExhausted)
    }

    func testOnT1TheSameCommandKeepsItsLe() throws {
        let link = ScriptedLink([("00A4040402A0FF00", "9000")])
        _ = try ISO7816Channel(link: link).transmit(
            CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x04, data: [0xA0, 0xFF], expectedLength: 256))
        XCTAssertTrue(link.isExhausted)
    }

    /// OpenSC apdu.c sc_apdu2bytes, case 1: "T0 needs an additional 0x00
    /// byte", the P3 of the five-byte T=0 command header; T=1 sends four bytes.
    func testOnT0ACase1CommandCarriesP3Zero() throws {
        let manageChannel = CommandAPDU(cla: 0x00, ins: 0x70, p1: 0x80, p2: 0x01)
        let t0 = ScriptedLink([("0070800100", "9000")], protocol: .t0)
        XCTAssertEqual(try ISO7816Channel(link: t0).transmit(manageChannel).status, .success)
        XCTAssertTrue(t0.isExhausted)
        let t1 = ScriptedLink([("00708001", "9000")])
        XCTAssertEqual(try ISO7816Channel(link: t1).transmit(manageChannel).status, .success)
        XCTAssertTrue(t1.isExhausted)
    }

    /// T=0 has a single length byte (ISO/IEC 7816-3 12.1): extended length is
    /// never sent, even when asked for, and a command that needs it is refused.
    func testT0NeverSendsExtendedLength() throws {
        let link = ScriptedLink([("00B0000000", "01029000")], protocol: .t0)
        let channel = ISO7816Channel(link: link)
        channel.forceExtendedLength = true
        XCTAssertEqual(try channel.transmit(ISOCommand.readBinary(offset: 0, length: 256)).data, [1, 2])
        XCTAssertThrowsError(try channel.transmit(ISOCommand.readBinary(offset: 0, length: 1024))) {
            guard case TransportError.extendedLengthOnT0 = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(link.sent.count, 1, "nothing is sent for the refused command")
    }

    /// A MACed command is never replayed on 6Cxx: the MAC chain moved on.
    func testASecureMessagingCommandIsNotReplayedOn6Cxx() throws {
        let link = ScriptedLink([("84B00000080102030405060708" + "00", "6C10")])
        let response = try ISO7816Channel(link: link).transmit(
            CommandAPDU(cla: 0x84, ins: 0xB0, p1: 0, p2: 0, data: [1, 2, 3, 4, 5, 6, 7, 8], expectedLength: 256))
        XCTAssertEqual(response.status, StatusWord(0x6C10))
        XCTAssertTrue(link.isExhausted)
    }

    /// ETSI TS 102 221 table 11.2: a UICC takes P2 04 or 0C and answers 00
    /// with 6A86. dmboot asks for the FCP first and falls back only on 6A86/6B00.
    func testSelectByAIDAsksForTheFCPAndFallsBackOnlyOnWrongP2() throws {
        let uicc = ScriptedLink([("00A4040402A0FF00", "62038401FF9000")])
        XCTAssertEqual(try ISO7816Channel(link: uicc).selectApplication([0xA0, 0xFF]).status, .success)
        let isoCard = ScriptedLink([
            ("00A4040402A0FF00", "6A86"),
            ("00A4040002A0FF00", "6B00"),
            ("00A4040C02A0FF", "9000"),
        ])
        XCTAssertEqual(try ISO7816Channel(link: isoCard).selectApplication([0xA0, 0xFF]).status, .success)
        XCTAssertTrue(isoCard.isExhausted)
        let missing = ScriptedLink([("00A4040402A0FF00", "6A82")])
        XCTAssertEqual(try ISO7816Channel(link: missing).selectApplication([0xA0, 0xFF]).status, StatusWord(0x6A82))
        XCTAssertTrue(missing.isExhausted, "a missing application is not asked for three times")
    }
}
