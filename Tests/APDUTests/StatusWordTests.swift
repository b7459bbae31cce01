import APDU
import XCTest

final class StatusWordTests: XCTestCase {
    func testClassesFollowISO7816() {
        XCTAssertTrue(StatusWord(0x9000).isSuccess)
        XCTAssertTrue(StatusWord(0x6110).isSuccess)
        XCTAssertTrue(StatusWord(0x6282).isWarning)
        XCTAssertTrue(StatusWord(0x63C2).isWarning)
        XCTAssertTrue(StatusWord(0x6982).isError)
        XCTAssertFalse(StatusWord(0x6282).isError)
    }

    func testMeaningsNameTheCondition() {
        XCTAssertEqual(StatusWord(0x6A82).meaning, "error: file or application not found")
        XCTAssertEqual(StatusWord(0x6982).meaning, "error: security status not satisfied")
        XCTAssertEqual(StatusWord(0x63C2).meaning, "warning: counter is 2 (tries left)")
        XCTAssertEqual(StatusWord(0x6100).meaning, "success, 256 more bytes available with GET RESPONSE")
        XCTAssertEqual(StatusWord(0x6C10).meaning, "error: wrong Le; 16 bytes available")
        XCTAssertEqual(StatusWord(0x1234).meaning, "unknown status")
    }

    func testResponseSplitsDataAndStatus() throws {
        let response = try ResponseAPDU(bytes: [0x01, 0x02, 0x90, 0x00])
        XCTAssertEqual(response.data, [0x01, 0x02])
        XCTAssertEqual(response.status, .success)
        XCTAssertEqual(response.bytes, [0x01, 0x02, 0x90, 0x00])
        XCTAssertThrowsError(try ResponseAPDU(bytes: [0x90])) { error in
            XCTAssertEqual(error as? APDUError, .responseTooShort(1))
        }
    }
}
