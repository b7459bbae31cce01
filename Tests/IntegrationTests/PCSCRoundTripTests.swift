import APDU
import CardSimulator
import CardTransport
import Foundation
import XCTest

/// Every test here crosses libpcsclite → pcscd → vpcd → the virtual card.
final class PCSCRoundTripTests: XCTestCase {
    static let body = (0..<1500).map { UInt8(($0 * 7) % 256) }

    static func profile(chaining: CardProfile.ResponseChaining = .none,
                        shortRead: CardProfile.ShortRead = .warning) -> CardProfile {
        CardProfile(name: "round trip", atr: BuiltInProfiles.demoATR, responseChaining: chaining,
                    shortRead: shortRead, maxResponseLength: 4096,
                    files: FileNode(fid: "3F00", children: [
                        FileNode(fid: "5015", aid: "A000000063504B43532D3135", children: [
                            FileNode(fid: "5040", content: Hex.encode(body)),
                        ]),
                    ]))
    }

    func withCard(_ profile: CardProfile, slot: Int = 0,
                  _ body: (PCSCCard, ISO7816Channel, CardCounters) throws -> Void) throws {
        let virtualCard = try VirtualCard(profile: profile)
        let inserted = try Rig.insert(virtualCard, slot: slot)
        defer { try? Rig.remove(inserted, slot: slot) }
        let context = try Rig.context()
        let (card, channel) = try Rig.channel(slot: slot, context: context)
        defer { card.disconnect() }
        try body(card, channel, inserted.counters)
    }

    func testReaderListShowsTheInsertedCardWithItsATR() throws {
        try withCard(Self.profile(), slot: 1) { _, _, _ in
            let readers = try Rig.context().readers()
            let reader = try XCTUnwrap(readers.first { $0.name == Rig.slots[1].reader })
            XCTAssertTrue(reader.cardPresent)
            XCTAssertEqual(reader.atr.hexString, BuiltInProfiles.demoATR)
        }
    }

    func testSelectAndReadAtOffsetsThroughPCSCD() throws {
        try withCard(Self.profile()) { card, channel, _ in
            XCTAssertEqual(card.protocolName, "T=1")
            XCTAssertEqual(try channel.transmit(ISOCommand.selectApplication([UInt8](hex: "A000000063504B43532D3135"),
                                                                           response: .none)).status, .success)
            XCTAssertEqual(try channel.transmit(ISOCommand.selectFile(0x5040)).status, .success)
            for offset in [0, 1, 255, 256, 1000, 1499] {
                let response = try channel.transmit(ISOCommand.readBinary(offset: offset, length: 1))
                XCTAssertEqual(response.data, [Self.body[offset]], "offset \(offset)")
            }
            let tail = try channel.transmit(ISOCommand.readBinary(offset: 1400, length: 200))
            XCTAssertEqual(tail.data, Array(Self.body[1400...]))
            XCTAssertEqual(tail.status, StatusWord(0x6282), "end of file before Ne bytes")
        }
    }

    func testExtendedLengthReadCarriesTheWholeFileInOneAPDU() throws {
        try withCard(Self.profile()) { _, channel, _ in
            _ = try channel.transmit(ISOCommand.selectPath([0x50, 0x15, 0x50, 0x40], fromMF: true))
            channel.resetCount()
            let response = try channel.transmit(ISOCommand.readBinary(offset: 0, length: 1500))
            XCTAssertEqual(response.data, Self.body)
            XCTAssertEqual(channel.exchangeCount, 1)
        }
    }

    func testT0StyleResponsesAreChainedWithGetResponse() throws {
        try withCard(Self.profile(chaining: .t0)) { _, channel, _ in
            _ = try channel.transmit(ISOCommand.selectPath([0x50, 0x15, 0x50, 0x40], fromMF: true))
            channel.resetCount()
            let response = try channel.transmit(ISOCommand.readBinary(offset: 100, length: 256))
            XCTAssertEqual(response.data, Array(Self.body[100..<356]))
            XCTAssertEqual(channel.exchangeCount, 2, "READ BINARY answered 6100, then one GET RESPONSE")
        }
    }

    func testWrongLeIsCorrectedAfter6Cxx() throws {
        try withCard(Self.profile(shortRead: .wrongLength)) { _, channel, _ in
            _ = try channel.transmit(ISOCommand.selectPath([0x50, 0x15, 0x50, 0x40], fromMF: true))
            channel.resetCount()
            let response = try channel.transmit(ISOCommand.readBinary(offset: 1490, length: 32))
            XCTAssertEqual(response.data, Array(Self.body[1490...]))
            XCTAssertEqual(response.status, .success)
            XCTAssertEqual(channel.exchangeCount, 2)
        }
    }

    func testLogicalChannelsOpenAndCloseThroughPCSCD() throws {
        try withCard(Self.profile()) { _, channel, _ in
            let opened = try channel.transmit(ISOCommand.openChannel())
            XCTAssertEqual(opened.status, .success)
            let logical = try LogicalChannel(Int(try XCTUnwrap(opened.data.first)))
            var select = ISOCommand.selectPath([0x50, 0x15, 0x50, 0x40], fromMF: true)
            select.cla = logical.encode(cla: select.cla)
            XCTAssertEqual(try channel.transmit(select).status, .success)
            var read = ISOCommand.readBinary(offset: 2, length: 2)
            read.cla = logical.encode(cla: read.cla)
            XCTAssertEqual(try channel.transmit(read).data, Array(Self.body[2..<4]))
            XCTAssertEqual(try channel.transmit(ISOCommand.closeChannel(logical)).status, .success)
            XCTAssertEqual(try channel.transmit(read).status, StatusWord(0x6881))
        }
    }

    func testACardPulledMidSessionGivesTheTypedError() throws {
        let virtualCard = try VirtualCard(profile: Self.profile())
        virtualCard.shouldContinue = { commandNumber in commandNumber < 3 }
        let inserted = try Rig.insert(virtualCard)
        defer { try? Rig.remove(inserted) }
        let context = try Rig.context()
        let (card, channel) = try Rig.channel(context: context)
        _ = try channel.transmit(ISOCommand.selectPath([0x50, 0x15, 0x50, 0x40], fromMF: true))
        _ = try channel.transmit(ISOCommand.readBinary(offset: 0, length: 16))
        XCTAssertThrowsError(try channel.transmit(ISOCommand.readBinary(offset: 16, length: 16))) { error in
            XCTAssertEqual(error as? PCSCError, .cardRemoved(reader: Rig.slots[0].reader), "\(type(of: error)): \(error)")
        }
        card.disconnect()
    }

    func testAnIndependentClientSeesTheSameCard() throws {
        try withCard(Self.profile(), slot: 2) { card, _, _ in
            card.disconnect()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/opensc-tool")
            process.arguments = ["--reader", "2", "--send-apdu", "00A4080C0450155040", "--send-apdu", "00B0000004"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = Pipe()
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, text)
            XCTAssertTrue(text.contains("00 07 0E 15"), text)
            XCTAssertTrue(text.contains("SW1=0x90, SW2=0x00"), text)
        }
    }
}
