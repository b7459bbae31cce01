import APDU
import CardSimulator
import CardTransport
import Foundation
import Synchronization
import XCTest

/// Issue 24 item 6: a second PC/SC client cannot break dmboot's session.
/// dmboot holds the card in a PC/SC transaction (SCardBeginTransaction, as
/// GlobalPlatformPro's GPTool `beginExclusive` and OpenSC's `sc_lock` do);
/// without it, another client's plain SELECT between two wrapped commands
/// deselects the security domain and ends the SCP03 session (GlobalPlatform
/// Card Specification v2.3 section 10.2.3: selecting an application ends it).
final class CardHoldTests: XCTestCase {
    var folder: URL!
    var keys: String!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("hold-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// What the other client got when it sent its SELECT.
    enum Interference: Equatable {
        case refused(PCSCError)
        case answered(UInt16)
        case failed(String)
    }

    /// The second client: its own thread and PC/SC context, connected
    /// (shared) before dmboot starts, as a middleware that keeps a card open
    /// would be. Once told the secure channel is open, it sends the ISD
    /// SELECT another application (a GlobalPlatform tool, a middleware
    /// probing the card) would send, and leaves what it got in `outcome`.
    final class SecondClient: Sendable {
        let outcome = Mutex<Interference?>(nil)
        /// The card's command count when the SELECT came back.
        let commandsAtAnswer = Atomic<Int>(0)
        let connected = DispatchSemaphore(value: 0)
        let sessionOpen = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)

        /// Connects from a thread of its own and waits there for `sessionOpen`.
        func start(reader: String, counters: CardCounters) {
            Thread.detachNewThread { [self] in
                let result: Interference
                do {
                    let context = try PCSCContext()
                    let card = try context.connect(reader: reader)
                    defer { card.disconnect() }
                    connected.signal()
                    _ = sessionOpen.wait(timeout: .now() + 60)
                    result = CardHoldTests.selectSecurityDomain(on: card)
                    // Read once the SELECT came back, whatever it got.
                    commandsAtAnswer.store(counters.commands, ordering: .releasing)
                } catch {
                    connected.signal()
                    result = .failed("\(error)")
                }
                outcome.withLock { $0 = result }
                done.signal()
            }
        }
    }

    static func selectSecurityDomain(on card: PCSCCard) -> Interference {
        do {
            let answer = try ISO7816Channel(link: card)
                .transmit(ISOCommand.selectApplication([0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]))
            return .answered(UInt16(answer.status.sw1) << 8 | UInt16(answer.status.sw2))
        } catch let error as PCSCError {
            return .refused(error)
        } catch {
            return .failed("\(error)")
        }
    }

    /// A demo card in `slot` with a second client connected to it; the client
    /// sends its SELECT once the secure channel is open (the command after
    /// the EXTERNAL AUTHENTICATE).
    func insertCardWithSecondClient(slot: Int) throws -> (VirtualReaderSlot, SecondClient) {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let counters = card.counters
        let client = SecondClient()
        card.shouldContinue = { _ in
            if counters.externalAuthenticates == 1 { client.sessionOpen.signal() }
            return true
        }
        let inserted = try Rig.insert(card, slot: slot)
        client.start(reader: Rig.slots[slot].reader, counters: counters)
        XCTAssertEqual(client.connected.wait(timeout: .now() + 20), .success, "the second client did not connect")
        return (inserted, client)
    }

    /// dmboot's session survived, and the second client waited: pcsc-lite
    /// retries a transmit on a card another handle holds in a transaction
    /// (winscard_clnt.c, unless PCSCLITE_NO_BLOCKING is set) until the
    /// transaction ends. dmboot ends with a reset (its session must not
    /// outlive it), so the waiting client is told the card was reset, and
    /// its SELECT never reached the card: the card processed exactly
    /// dmboot's `apduCount` commands.
    func assertWaited(_ client: SecondClient, reader: String, after result: Executable.Result, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let apduCount = try XCTUnwrap(report["apduCount"] as? Int)
        XCTAssertEqual(client.done.wait(timeout: .now() + 20), .success, "the second client never came back", file: file, line: line)
        XCTAssertEqual(client.outcome.withLock { $0 }, .refused(.cardReset(reader: reader)), file: file, line: line)
        XCTAssertEqual(client.commandsAtAnswer.load(ordering: .acquiring), apduCount, file: file, line: line)
    }

    func testAnotherClientsSelectDuringProvisionDoesNotEndTheSession() throws {
        let slot = 2
        let (inserted, client) = try insertCardWithSecondClient(slot: slot)
        defer { try? Rig.remove(inserted, slot: slot) }
        let tree = folder.appendingPathComponent("tree.sqlite").path
        let result = try Executable.run("dmboot", ["provision", "--reader", Rig.slots[slot].reader, "--keys", keys,
                                                   "--tree", tree, "--json"])
        try assertWaited(client, reader: Rig.slots[slot].reader, after: result)
    }

    func testAnotherClientsSelectDuringReadDoesNotEndTheSession() throws {
        let slot = 2
        let (inserted, client) = try insertCardWithSecondClient(slot: slot)
        defer { try? Rig.remove(inserted, slot: slot) }
        let result = try Executable.run("dmboot", ["read", "--reader", Rig.slots[slot].reader, "--keys", keys, "--json"])
        try assertWaited(client, reader: Rig.slots[slot].reader, after: result)
    }

    /// An application holding the card exclusively: dmboot stops at once
    /// with exit 8 (readerBusy) and says so.
    func testACardHeldExclusivelyElsewhereIsReaderBusy() throws {
        let slot = 2
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: slot)
        defer { try? Rig.remove(inserted, slot: slot) }
        let context = try Rig.context()
        let holder = try context.connect(reader: Rig.slots[slot].reader, share: .exclusive)
        defer { holder.disconnect() }
        let result = try Executable.run("dmboot", ["read", "--reader", Rig.slots[slot].reader, "--keys", keys])
        XCTAssertEqual(result.status, 8, result.stderr)
        XCTAssertTrue(result.stderr.contains("another application holds the card in \"\(Rig.slots[slot].reader)\" exclusively"),
                      result.stderr)
    }
}
