import APDU
import CardTransport
import XCTest

final class ISO7816ChannelTests: XCTestCase {
    func testResponsesAnnouncedWith61xxAreCollectedWithGetResponse() throws {
        let link = ScriptedLink([
            ("00B0000000", "6100"),
            ("00C0000000", String(repeating: "AB", count: 256) + "6102"),
            ("00C0000002", "CDEF9000"),
        ])
        let channel = ISO7816Channel(link: link)
        let response = try channel.transmit(ISOCommand.readBinary(offset: 0, length: 256))
        XCTAssertEqual(response.data.count, 258)
        XCTAssertEqual(Array(response.data.suffix(2)), [0xCD, 0xEF])
        XCTAssertEqual(response.status, .success)
        XCTAssertEqual(channel.exchangeCount, 3)
        XCTAssertTrue(link.isExhausted)
    }

    func testWrongLengthIsResentWithTheLeTheCardNamed() throws {
        let link = ScriptedLink([
            ("00B0001020", "6C05"),
            ("00B0001005", "01020304059000"),
        ])
        let channel = ISO7816Channel(link: link)
        let response = try channel.transmit(ISOCommand.readBinary(offset: 16, length: 32))
        XCTAssertEqual(response.data, [1, 2, 3, 4, 5])
        XCTAssertEqual(channel.exchangeCount, 2)
    }

    func testGetResponseKeepsTheLogicalChannel() throws {
        let link = ScriptedLink([
            ("43B0000000", "6103"),
            ("43C0000003", "0102039000"),
        ])
        let channel = ISO7816Channel(link: link)
        let command = CommandAPDU(cla: 0x43, ins: 0xB0, p1: 0, p2: 0, expectedLength: 256)
        XCTAssertEqual(try channel.transmit(command).data, [1, 2, 3])
        let high = ScriptedLink([("4FB0000000", "6101"), ("4FC0000001", "099000")])
        XCTAssertEqual(try ISO7816Channel(link: high).transmit(CommandAPDU(cla: 0x4F, ins: 0xB0, p1: 0, p2: 0,
                                                                             expectedLength: 256)).data, [9])
    }

    func testErrorStatusesPassThroughUntouched() throws {
        let link = ScriptedLink([("00A4000C023F01", "6A82")])
        let response = try ISO7816Channel(link: link).transmit(ISOCommand.selectFile(0x3F01))
        XCTAssertEqual(response.status, StatusWord(0x6A82))
        XCTAssertTrue(response.data.isEmpty)
    }

    func testACardThatNeverStopsAnswering61xxIsReported() {
        let link = ScriptedLink([("00B0000000", "6101")] + Array(repeating: ("00C0000001", "006101"), count: 5))
        let channel = ISO7816Channel(link: link)
        channel.maxResponseChain = 4
        XCTAssertThrowsError(try channel.transmit(ISOCommand.readBinary(offset: 0, length: 256))) { error in
            XCTAssertEqual(error as? TransportError, .responseChainTooLong(5))
        }
    }

    func testAResponseWithoutStatusWordIsMalformed() {
        let link = ScriptedLink([("00B0000000", "90")])
        XCTAssertThrowsError(try ISO7816Channel(link: link).transmit(ISOCommand.readBinary(offset: 0, length: 256))) {
            XCTAssertEqual($0 as? TransportError, .malformedResponse([0x90]))
        }
    }

    func testEveryWireExchangeIsReported() throws {
        let link = ScriptedLink([("00B0000000", "6101"), ("00C0000001", "419000")])
        let channel = ISO7816Channel(link: link)
        var seen: [String] = []
        channel.onExchange = { seen.append($0.command.hexString + ">" + $0.response.hexString) }
        _ = try channel.transmit(ISOCommand.readBinary(offset: 0, length: 256))
        XCTAssertEqual(seen, ["00B0000000>6101", "00C0000001>419000"])
    }
}
