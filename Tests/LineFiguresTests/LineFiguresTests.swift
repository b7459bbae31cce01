import Foundation
import LineFigures
import XCTest

/// The one definition of the line's numbers (dmboot(1), THE NUMBERS).
final class LineFiguresTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func testADuplicateIsItsOwnClassNeverAFailure() {
        XCTAssertEqual(LineFigures.Kind.of(outcome: "alreadyProvisioned", exitCode: 100, failureClass: "alreadyProvisioned"),
                       .duplicate)
        XCTAssertEqual(LineFigures.Kind.of(outcome: "duplicate", exitCode: 0, failureClass: nil), .duplicate)
        XCTAssertEqual(LineFigures.Kind.of(outcome: "provisioned", exitCode: 0, failureClass: nil, conflict: true), .duplicate)
        XCTAssertEqual(LineFigures.Kind.of(outcome: "unchanged", exitCode: 0, failureClass: nil), .succeeded)
        XCTAssertEqual(LineFigures.Kind.of(outcome: "failed", exitCode: 7, failureClass: "cardRemoved"),
                       .failed(failureClass: "cardRemoved"))
        XCTAssertEqual(LineFigures.Kind.of(outcome: "authenticationRefused", exitCode: 21, failureClass: nil),
                       .failed(failureClass: "authenticationRefused"), "the station log's outcome is the class")
    }

    func testYieldLeavesDuplicatesOutAndRateRunsFromFirstStartToLastEnd() {
        var figures = LineFigures()
        figures.add(.succeeded, start: start, milliseconds: 1000)
        figures.add(.duplicate, start: start + 10, milliseconds: 500)
        figures.add(.failed(failureClass: "cardRemoved"), start: start + 20, milliseconds: 1000)
        figures.add(.succeeded, start: start + 28, milliseconds: 2000)
        XCTAssertEqual(figures.cards, 4)
        XCTAssertEqual(figures.succeeded, 2)
        XCTAssertEqual(figures.duplicates, 1)
        XCTAssertEqual(figures.failed, 1)
        XCTAssertEqual(figures.failures, ["cardRemoved": 1])
        XCTAssertEqual(try XCTUnwrap(figures.yield), 2.0 / 3.0, accuracy: 1e-12, "2 of the 3 cards that count")
        XCTAssertEqual(try XCTUnwrap(figures.cardsPerMinute), 8, accuracy: 1e-9, "4 cards over 30 s")
        XCTAssertEqual(figures.summary.yieldPercent, 66.7)
        XCTAssertEqual(figures.yieldText, "66.7 %")
    }

    func testOneCardOrOnlyDuplicatesHaveNoRateOrNoYield() {
        var one = LineFigures()
        one.add(.duplicate, start: start, milliseconds: 300)
        XCTAssertNil(one.cardsPerMinute, "one card's time is no rate")
        XCTAssertNil(one.yield, "duplicates alone say nothing about the line")
        XCTAssertEqual(one.rateText, "-")
    }

    func testCountsSummedByADatabaseGiveTheSameFiguresAsCardsAddedOneByOne() {
        var added = LineFigures()
        added.add(.succeeded, start: start, milliseconds: 100)
        added.add(.failed(failureClass: "authenticationRefused"), start: start + 5, milliseconds: 100)
        var other = LineFigures()
        other.add(.duplicate, start: start + 9, milliseconds: 1000)
        added.merge(other)
        let summed = LineFigures(succeeded: 1, duplicates: 1, failures: ["authenticationRefused": 1],
                                 firstStart: start, lastEnd: start + 10)
        XCTAssertEqual(added, summed)
        XCTAssertEqual(try XCTUnwrap(summed.cardsPerMinute), 18, accuracy: 1e-9)
    }
}
