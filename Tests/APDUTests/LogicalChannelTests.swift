import APDU
import XCTest

final class LogicalChannelTests: XCTestCase {
    func testChannelsZeroToThreeUseTheFirstInterindustryClass() throws {
        XCTAssertEqual(try LogicalChannel(0).encode(cla: 0x00), 0x00)
        XCTAssertEqual(try LogicalChannel(3).encode(cla: 0x00), 0x03)
        XCTAssertEqual(try LogicalChannel(3).encode(cla: 0x80), 0x83)
        XCTAssertEqual(try LogicalChannel(1).encode(cla: 0x80, secureMessaging: true), 0x85)
        XCTAssertEqual(try LogicalChannel(2).encode(cla: 0x10), 0x12, "command chaining bit kept")
    }

    func testChannelsFourToNineteenUseTheFurtherInterindustryClass() throws {
        XCTAssertEqual(try LogicalChannel(4).encode(cla: 0x00), 0x40)
        XCTAssertEqual(try LogicalChannel(19).encode(cla: 0x00), 0x4F)
        XCTAssertEqual(try LogicalChannel(19).encode(cla: 0x80), 0xCF)
        XCTAssertEqual(try LogicalChannel(5).encode(cla: 0x00, secureMessaging: true), 0x61)
        XCTAssertEqual(try LogicalChannel(4).encode(cla: 0x10), 0x50)
    }

    func testDecodingRecoversEveryChannel() throws {
        for number in LogicalChannel.range {
            let channel = try LogicalChannel(number)
            for cla: UInt8 in [0x00, 0x80] {
                XCTAssertEqual(LogicalChannel.decode(cla: channel.encode(cla: cla)), channel)
                XCTAssertTrue(LogicalChannel.hasSecureMessaging(cla: channel.encode(cla: cla, secureMessaging: true)))
            }
        }
    }

    func testChannelTwentyDoesNotExist() {
        XCTAssertThrowsError(try LogicalChannel(20)) { error in
            XCTAssertEqual(error as? APDUError, .channelOutOfRange(20))
        }
    }

    func testManageChannelCommands() throws {
        XCTAssertEqual(try ISOCommand.openChannel().encoded(), [0x00, 0x70, 0x00, 0x00, 0x01])
        XCTAssertEqual(try ISOCommand.closeChannel(LogicalChannel(2)).encoded(), [0x00, 0x70, 0x80, 0x02])
    }
}
