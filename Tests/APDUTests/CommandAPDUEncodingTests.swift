import APDU
import XCTest

final class CommandAPDUEncodingTests: XCTestCase {
    func testCase1IsHeaderOnly() throws {
        let command = CommandAPDU(cla: 0x00, ins: 0x70, p1: 0x80, p2: 0x01)
        XCTAssertEqual(command.isoCase, 1)
        XCTAssertEqual(try command.encoded(), [0x00, 0x70, 0x80, 0x01])
    }

    func testCase2ShortLeBoundaries() throws {
        let base = CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0, p2: 0)
        for (ne, le) in [(1, 0x01), (255, 0xFF), (256, 0x00)] {
            var command = base
            command.expectedLength = ne
            XCTAssertEqual(command.isoCase, 2)
            XCTAssertEqual(try command.encoded(), [0x00, 0xB0, 0x00, 0x00, UInt8(le)], "Ne \(ne)")
        }
    }

    func testCase2ExtendedLeBoundaries() throws {
        let base = CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0, p2: 0)
        for (ne, le) in [(257, [0x01, 0x01]), (65_535, [0xFF, 0xFF]), (65_536, [0x00, 0x00])] {
            var command = base
            command.expectedLength = ne
            XCTAssertTrue(command.needsExtendedLength)
            XCTAssertEqual(try command.encoded(), [0x00, 0xB0, 0x00, 0x00, 0x00] + le.map(UInt8.init), "Ne \(ne)")
        }
        var forced = base
        forced.expectedLength = 1
        XCTAssertEqual(try forced.encoded(forceExtended: true), [0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x01])
    }

    func testCase3ShortAndExtendedLcBoundaries() throws {
        for count in [1, 255] {
            let data = [UInt8](repeating: 0xAB, count: count)
            let command = CommandAPDU(cla: 0x80, ins: 0xE2, p1: 0, p2: 0, data: data)
            XCTAssertEqual(command.isoCase, 3)
            XCTAssertEqual(try command.encoded(), [0x80, 0xE2, 0x00, 0x00, UInt8(count)] + data)
        }
        for count in [256, 65_535] {
            let data = [UInt8](repeating: 0x5A, count: count)
            let command = CommandAPDU(cla: 0x80, ins: 0xE2, p1: 0, p2: 0, data: data)
            XCTAssertEqual(try command.encoded(),
                           [0x80, 0xE2, 0x00, 0x00, 0x00, UInt8(count >> 8), UInt8(count & 0xFF)] + data)
        }
    }

    func testCase4ShortCarriesLcDataLe() throws {
        let command = CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00], expectedLength: 256)
        XCTAssertEqual(command.isoCase, 4)
        XCTAssertEqual(try command.encoded(), [0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00])
    }

    func testCase4ExtendedSharesOneLeadingZero() throws {
        let data = [UInt8](repeating: 0x11, count: 256)
        let command = CommandAPDU(cla: 0x00, ins: 0x2A, p1: 0x9E, p2: 0x9A, data: data, expectedLength: 65_536)
        let encoded = try command.encoded()
        XCTAssertEqual(Array(encoded.prefix(7)), [0x00, 0x2A, 0x9E, 0x9A, 0x00, 0x01, 0x00])
        XCTAssertEqual(Array(encoded.suffix(2)), [0x00, 0x00])
        XCTAssertEqual(encoded.count, 4 + 3 + 256 + 2)
    }

    func testDataOf65536BytesCannotBeEncoded() {
        let command = CommandAPDU(cla: 0, ins: 0xD6, p1: 0, p2: 0, data: [UInt8](repeating: 0, count: 65_536))
        XCTAssertThrowsError(try command.encoded()) { error in
            XCTAssertEqual(error as? APDUError, .dataTooLong(65_536))
        }
    }

    func testExpectedLengthOutsideRangeIsRejected() {
        for ne in [0, 65_537] {
            let command = CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, expectedLength: ne)
            XCTAssertThrowsError(try command.encoded()) { error in
                XCTAssertEqual(error as? APDUError, .expectedLengthOutOfRange(ne))
            }
        }
    }

    func testEveryEncodingParsesBackToTheSameCommand() throws {
        let lengths: [Int?] = [nil, 1, 255, 256, 257, 65_535, 65_536]
        let dataSizes = [0, 1, 255, 256, 65_535]
        for size in dataSizes {
            for ne in lengths {
                let command = CommandAPDU(cla: 0x00, ins: 0xCA, p1: 0x01, p2: 0x02,
                                          data: [UInt8](repeating: 0x42, count: size), expectedLength: ne)
                for force in [false, true] {
                    let parsed = try CommandAPDU(bytes: try command.encoded(forceExtended: force))
                    XCTAssertEqual(parsed, command, "data \(size), Ne \(String(describing: ne)), extended \(force)")
                }
            }
        }
    }

    func testParsingRejectsLengthFieldsThatDisagreeWithTheBody() {
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4])) { error in
            XCTAssertEqual(error as? APDUError, .commandTooShort(2))
        }
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00])) { error in
            XCTAssertEqual(error as? APDUError, .inconsistentLength(declared: 5, available: 2))
        }
        XCTAssertThrowsError(try CommandAPDU(bytes: [0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x03, 0x01])) { error in
            XCTAssertEqual(error as? APDUError, .inconsistentLength(declared: 3, available: 1))
        }
    }
}
