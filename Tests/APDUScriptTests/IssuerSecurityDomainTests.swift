@testable import APDUScript
import APDU
import CardTransport
import XCTest

/// How `status` finds the issuer security domain when the card does not
/// answer the first SELECT, against a card double that answers from a table.
/// The order checked is GlobalPlatformPro's `GPSession.discover`: SELECT with
/// no AID, then the default ISD AID A000000151000000.
final class IssuerSecurityDomainTests: XCTestCase {
    final class TableCard: CardChannel {
        var answers: [String: String]
        var sent: [String] = []

        init(_ answers: [String: String]) { self.answers = answers }

        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            let hex = try command.encoded().hexString
            sent.append(hex)
            return try ResponseAPDU(bytes: Hex.decode(answers[hex] ?? "6A82"))
        }
    }

    func select(_ card: TableCard) throws -> [UInt8] {
        try IssuerSecurityDomain.select(over: card) { _, _ in }
    }

    func testTheEmptySelectNamesTheISDInTag84() throws {
        let card = TableCard(["00A4040000": "6F0A8408A000000151000000" + "9000"])
        XCTAssertEqual(try select(card), try Hex.decode("A000000151000000"))
        XCTAssertEqual(card.sent, ["00A4040000"])
    }

    /// A SmartJac UICC answers the empty SELECT with 6A87 (GlobalPlatformPro's comment); the default AID follows.
    func testARefusedEmptySelectFallsBackToTheDefaultISDAID() throws {
        let card = TableCard(["00A4040000": "6A87", "00A4040008A00000015100000000": "6F0A8408A000000151000000" + "9000"])
        XCTAssertEqual(try select(card), try Hex.decode("A000000151000000"))
        XCTAssertEqual(card.sent, ["00A4040000", "00A4040008A00000015100000000"])
    }

    /// GlobalPlatformPro keeps the AID the card reports over the one it asked for.
    func testTheAIDTheCardReportsWinsOverTheOneAskedFor() throws {
        let card = TableCard(["00A4040008A00000015100000000": "6F0B8409A00000015100000001" + "9000"])
        XCTAssertEqual(try select(card), try Hex.decode("A00000015100000001"))
    }

    /// A UICC refuses P2 00 (FCI) with 6A86 (ETSI TS 102 221 table 11.2): the FCP is asked for next.
    func testACardRefusingTheFCIIsAskedForItsFCP() throws {
        let card = TableCard(["00A4040000": "6A86", "00A4040400": "620A8408A000000151000000" + "9000"])
        XCTAssertEqual(try select(card), try Hex.decode("A000000151000000"))
        XCTAssertEqual(card.sent, ["00A4040000", "00A4040400"])
    }

    func testAnOpenPlatformCardIsFoundByTheOlderISDAID() throws {
        let card = TableCard(["00A4040008A00000000300000000": "9000"])
        XCTAssertEqual(try select(card), try Hex.decode("A000000003000000"))
    }

    func testACardWithNoISDIsAnErrorNamingWhatWasTried() throws {
        let card = TableCard([:])
        XCTAssertThrowsError(try select(card)) { error in
            XCTAssertEqual((error as? CardStatusError)?.status, StatusWord(0x6A82))
            XCTAssertTrue("\(error)".contains("no AID, then A000000151000000, A000000003000000"), "\(error)")
        }
        XCTAssertEqual(card.sent, ["00A4040000", "00A4040008A00000015100000000", "00A4040008A00000000300000000"])
    }
}
