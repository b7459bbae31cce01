import CardTransport
import XCTest

/// Successive reader pictures turned into events, as pcscd reports them.
final class ReaderEventsTests: XCTestCase {
    func testReadersAndCardsComingAndGoing() {
        var events = ReaderEvents()
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: false), ReaderSnapshot(name: "B", cardPresent: true)]),
                       [.readerAdded("A"), .readerAdded("B"), .cardInserted("B")])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1), ReaderSnapshot(name: "B", cardPresent: true)]),
                       [.cardInserted("A")])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1)]), [.cardRemoved("B"), .readerRemoved("B")])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: false, cardEvents: 2)]), [.cardRemoved("A")])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: true, mute: true, cardEvents: 3)]), [.cardMute("A")])
    }

    /// A card pulled and another inserted between two looks is still "present";
    /// pcscd's event count (the high 16 bits of dwEventState) tells the swap.
    func testASwapBetweenTwoLooksIsARemovalAndAnInsertion() {
        var events = ReaderEvents()
        _ = events.next([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 1)])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 3)]), [.cardRemoved("A"), .cardInserted("A")])
        XCTAssertEqual(events.next([ReaderSnapshot(name: "A", cardPresent: true, cardEvents: 3)]), [])
    }
}
