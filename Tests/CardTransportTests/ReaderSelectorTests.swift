import CardTransport
import XCTest

final class ReaderSelectorTests: XCTestCase {
    let readers = ["Virtual PCD 00 00", "Virtual PCD 00 01", "ACS ACR38U 01 00"]

    func testExactNameWins() throws {
        XCTAssertEqual(try ReaderSelector.select("Virtual PCD 00 01", from: readers), "Virtual PCD 00 01")
    }

    func testIndexSelects() throws {
        XCTAssertEqual(try ReaderSelector.select("2", from: readers), "ACS ACR38U 01 00")
    }

    func testUniqueSubstringSelectsIgnoringCase() throws {
        XCTAssertEqual(try ReaderSelector.select("acr38", from: readers), "ACS ACR38U 01 00")
    }

    func testAmbiguousSubstringNamesTheCandidates() {
        XCTAssertThrowsError(try ReaderSelector.select("Virtual", from: readers)) { error in
            XCTAssertEqual(error as? PCSCError,
                           .ambiguousReader("Virtual", candidates: ["Virtual PCD 00 00", "Virtual PCD 00 01"]))
        }
    }

    func testNoMatchListsWhatExists() {
        XCTAssertThrowsError(try ReaderSelector.select("Omnikey", from: readers)) { error in
            XCTAssertEqual(error as? PCSCError, .unknownReader("Omnikey", available: readers))
            XCTAssertTrue("\(error)".contains("[2] ACS ACR38U 01 00"))
        }
    }

    func testNoQueryTakesTheOnlyReaderHoldingACard() throws {
        XCTAssertEqual(try ReaderSelector.select(nil, from: readers, holdingCards: ["ACS ACR38U 01 00"]), "ACS ACR38U 01 00")
        XCTAssertThrowsError(try ReaderSelector.select(nil, from: readers, holdingCards: [])) { error in
            XCTAssertEqual(error as? PCSCError, .noCardInAnyReader(readers: readers))
        }
        XCTAssertThrowsError(try ReaderSelector.select(nil, from: readers, holdingCards: Array(readers.prefix(2)))) { error in
            XCTAssertEqual(error as? PCSCError, .ambiguousReader("", candidates: Array(readers.prefix(2))))
            XCTAssertTrue("\(error)".contains("--reader"), "\(error)")
        }
    }

    func testNoQueryNeedsExactlyOneReader() throws {
        XCTAssertEqual(try ReaderSelector.select(nil, from: ["Only One"]), "Only One")
        XCTAssertThrowsError(try ReaderSelector.select(nil, from: readers)) { error in
            XCTAssertEqual(error as? PCSCError, .ambiguousReader("", candidates: readers))
        }
        XCTAssertThrowsError(try ReaderSelector.select(nil, from: [])) { error in
            XCTAssertEqual(error as? PCSCError, .noReaders)
        }
    }
}
