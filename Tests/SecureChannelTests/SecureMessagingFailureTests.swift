import APDU
import CardSimulator
import CardTransport
import CardCrypto
import SecureChannel
import XCTest

/// Failures inside an open session: each closes it with its own error.
final class SecureMessagingFailureTests: XCTestCase {
    func open(level: UInt8 = 0x33) throws -> (VirtualCard, SecureCardChannel) {
        let (card, _, channel) = try TestCards.selected()
        let host = SCP03Host(keys: try TestCards.keys(), level: try SecurityLevel(level), applicationID: PKCS15AID.value)
        return (card, try host.open(over: channel))
    }

    func testLevel33ReadsAProtectedFileInChunksTheChannelAllows() throws {
        let (_, secure) = try open()
        XCTAssertEqual(secure.maxResponseData, 239)
        XCTAssertEqual(secure.maxCommandData, 239)
        _ = try secure.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        var read: [UInt8] = []
        while read.count < TestCards.document.count {
            let chunk = min(secure.maxResponseData, TestCards.document.count - read.count)
            read += try secure.expectSuccess(ISOCommand.readBinary(offset: read.count, length: chunk), "READ").data
        }
        XCTAssertEqual(read, TestCards.document)
    }

    func testWithoutTheSecureChannelTheProtectedFileAnswers6982() throws {
        let (_, _, channel) = try TestCards.selected()
        _ = try channel.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        XCTAssertEqual(try channel.transmit(ISOCommand.readBinary(offset: 0, length: 16)).status, StatusWord(0x6982))
        let (_, lowLevel) = try open(level: 0x01)
        _ = try lowLevel.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        XCTAssertEqual(try lowLevel.transmit(ISOCommand.readBinary(offset: 0, length: 16)).status, StatusWord(0x6982))
    }

    func testABadResponseMACClosesTheSession() throws {
        let (card, secure) = try open()
        card.faults.corruptResponseMAC = true
        XCTAssertThrowsError(try secure.transmit(ISOCommand.selectFile(0x5041))) {
            XCTAssertEqual($0 as? SecureChannelError, .responseMACMismatch)
        }
        card.faults.corruptResponseMAC = false
        XCTAssertThrowsError(try secure.transmit(ISOCommand.selectFile(0x5041))) {
            XCTAssertEqual($0 as? SecureChannelError, .sessionClosed)
        }
    }

    /// MANAGE CHANNEL is the card runtime's (Java Card 3 Runtime Environment
    /// Specification 4.5.1: CLA 000000cc or 0100dddd only, never forwarded
    /// to an application): a plain one is served and leaves the session on
    /// the basic channel alone; a wrapped one is refused with 6882 (ISO/IEC
    /// 7816-4 table 6, secure messaging not supported) by a runtime that
    /// never checked its MAC, so host and card chains part and the session is lost.
    func testManageChannelIsServedPlainAndRefusedWrapped() throws {
        let (card, _, channel) = try TestCards.selected()
        let host = SCP03Host(keys: try TestCards.keys(), level: try SecurityLevel(0x33), applicationID: PKCS15AID.value)
        let secure = try host.open(over: channel)
        let opened = try channel.transmit(ISOCommand.openChannel())
        XCTAssertEqual(opened.status, .success)
        XCTAssertEqual(opened.data, [0x01])
        XCTAssertEqual(try channel.transmit(ISOCommand.closeChannel(LogicalChannel(1))).status, .success)
        XCTAssertEqual(try secure.transmit(ISOCommand.selectFile(0x5041)).status, .success, "the session outlived both")
        XCTAssertEqual(try secure.transmit(ISOCommand.openChannel()).status, StatusWord(0x6882))
        XCTAssertEqual(try? secure.transmit(ISOCommand.selectFile(0x5041)).status, StatusWord(0x6982))
        XCTAssertEqual(card.externalAuthenticateCount, 1)
    }

    func testAnErrorStatusComesBareAndKeepsTheSessionGoing() throws {
        let (_, secure) = try open()
        XCTAssertEqual(try secure.transmit(ISOCommand.selectFile(0x7777)).status, StatusWord(0x6A82))
        XCTAssertEqual(try secure.transmit(ISOCommand.selectFile(0x5041)).status, .success)
        XCTAssertEqual(try secure.transmit(ISOCommand.readBinary(offset: 0, length: 2)).data, [0xCA, 0xFE])
    }

    func testCommandsAndResponsesTooLongForOneAPDUAreRefusedBeforeSending() throws {
        let (card, secure) = try open()
        let before = card.commandCount
        XCTAssertThrowsError(try secure.transmit(CommandAPDU(cla: 0, ins: 0xD6, p1: 0, p2: 0,
                                                             data: [UInt8](repeating: 0, count: 240)))) {
            XCTAssertEqual($0 as? SecureChannelError, .commandTooLong(plain: 240, limit: 239))
        }
        XCTAssertThrowsError(try secure.transmit(ISOCommand.readBinary(offset: 0, length: 240))) {
            XCTAssertEqual($0 as? SecureChannelError, .expectedLengthTooLong(asked: 240, limit: 239))
        }
        XCTAssertEqual(card.commandCount, before, "nothing was sent")
        secure.allowsExtendedLength = true
        _ = try secure.expectSuccess(ISOCommand.selectFile(0x5040), "SELECT")
        XCTAssertEqual(try secure.transmit(ISOCommand.readBinary(offset: 0, length: 1500)).data, TestCards.document)
    }

    /// Host and card halves of one session with known keys, to forge responses.
    func pair(level: UInt8 = 0x33) throws -> (SCP03MessageProtection, SCP03SessionKeys) {
        let keys = SCP03SessionKeys(enc: SecretBytes([UInt8](repeating: 1, count: 16)),
                               mac: SecretBytes([UInt8](repeating: 2, count: 16)),
                               rmac: SecretBytes([UInt8](repeating: 3, count: 16)))
        let host = SCP03MessageProtection(keys: keys, level: try SecurityLevel(level), mode: .s8,
                                          chainingValue: [UInt8](repeating: 0, count: 16))
        _ = try host.wrap(ISOCommand.readBinary(offset: 0, length: 16))
        return (host, keys)
    }

    func testBadPaddingUnderAValidMACIsRejected() throws {
        let (host, keys) = try pair()
        var block = [UInt8](repeating: 0, count: 16)
        block[0] = 0x80
        block[15] = 0x01
        let icv = try AES.encrypt(block, key: keys.enc, mode: .ecb)
        let body = try AES.encrypt([UInt8](repeating: 0x11, count: 16), key: keys.enc, mode: .cbc, iv: icv)
        let mac = Array(try MAC.cmac(key: keys.rmac, message: host.chainingValue + body + [0x90, 0x00]).prefix(8))
        XCTAssertThrowsError(try host.unwrap(ResponseAPDU(data: body + mac, status: .success))) {
            XCTAssertEqual($0 as? SecureChannelError, .badPadding)
        }
        XCTAssertFalse(host.isOpen)
    }

    func testDataBesideAnErrorStatusAndWarningsWithoutRMACAreRejected() throws {
        let (host, _) = try pair()
        XCTAssertThrowsError(try host.unwrap(ResponseAPDU(data: [1, 2, 3], status: StatusWord(0x6A82)))) {
            XCTAssertEqual($0 as? SecureChannelError, .dataWithErrorStatus(StatusWord(0x6A82), length: 3))
        }
        let (warned, _) = try pair()
        XCTAssertThrowsError(try warned.unwrap(ResponseAPDU(status: StatusWord(0x6310)))) {
            XCTAssertEqual($0 as? SecureChannelError, .responseMACMissing(StatusWord(0x6310)))
        }
        let (bare, _) = try pair()
        XCTAssertEqual(try bare.unwrap(ResponseAPDU(status: StatusWord(0x6982))).status, StatusWord(0x6982))
    }

    func testTheCounterStopsBeforeItCouldWrap() throws {
        let keys = SCP03SessionKeys(enc: SecretBytes([UInt8](repeating: 1, count: 16)),
                               mac: SecretBytes([UInt8](repeating: 2, count: 16)),
                               rmac: SecretBytes([UInt8](repeating: 3, count: 16)))
        let host = SCP03MessageProtection(keys: keys, level: .full, mode: .s8,
                                          chainingValue: [UInt8](repeating: 0, count: 16), counter: 0xFFFF_FFFE)
        _ = try host.wrap(ISOCommand.selectFile(0x5040))
        XCTAssertThrowsError(try host.wrap(ISOCommand.selectFile(0x5040))) {
            XCTAssertEqual($0 as? SecureChannelError, .counterExhausted)
        }
        XCTAssertFalse(host.isOpen)
    }

    func testSelectingAnApplicationEndsTheSessionOnTheCard() throws {
        let (card, secure) = try open()
        _ = try secure.expectSuccess(ISOCommand.selectApplication(PKCS15AID.value, response: .none), "SELECT")
        XCTAssertNil(card.securityDomain?.session)
    }

    func testEveryLevelRunsAgainstTheVirtualCard() throws {
        for level: UInt8 in [0x00, 0x01, 0x03, 0x11, 0x13, 0x31, 0x33] {
            let (_, secure) = try open(level: level)
            _ = try secure.expectSuccess(ISOCommand.selectFile(0x5041), "SELECT at \(level)")
            XCTAssertEqual(try secure.transmit(ISOCommand.readBinary(offset: 0, length: 2)).data, [0xCA, 0xFE],
                           "level \(String(level, radix: 16))")
        }
    }
}
