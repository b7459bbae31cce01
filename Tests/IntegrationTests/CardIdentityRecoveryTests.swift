import CardSimulator
import Foundation
import Synchronization
import TestSupport
import XCTest

/// Issue 25 item 1, through pcscd: a client that dies inside an SCP03
/// session leaves the card in it (pcscd does not reset a card when its
/// client goes). The next run must still read the card's ICCID and file it
/// under the same identity, not fall back to the PKCS#15 serial.
final class CardIdentityRecoveryTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testACardLeftInsideAKilledClientsSecureChannelKeepsItsICCIDIdentity() throws {
        let keys = folder.appendingPathComponent("keys.json").path
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let counters = card.counters
        // The first run is killed at its first command after EXTERNAL
        // AUTHENTICATE: the card answers it inside the session it keeps.
        let victim = Mutex<pid_t?>(nil)
        let killedInSession = Mutex(false)
        card.shouldContinue = { _ in
            guard counters.externalAuthenticates == 1, let pid = victim.withLock({ $0.take() }) else { return true }
            kill(pid, SIGKILL)
            killedInSession.withLock { $0 = true }
            return true
        }
        let inserted = try Rig.insert(card, slot: 0)
        defer { try? Rig.remove(inserted, slot: 0) }

        func provision(tree: String) -> [String] {
            ["provision", "--reader", Rig.slots[0].reader, "--keys", keys, "--tree", folder.appendingPathComponent(tree).path,
             "--json-log", folder.appendingPathComponent("\(tree).jsonl").path]
        }
        let first = try BackgroundProcess(provision(tree: "first.sqlite"), in: folder)
        victim.withLock { $0 = first.pid }
        let killed = try first.finish()
        XCTAssertEqual(killed.status, SIGKILL, "the first run died by SIGKILL")
        XCTAssertTrue(killedInSession.withLock { $0 }, "the first run was killed inside its secure channel")

        let second = try Executable.run("dmboot", provision(tree: "second.sqlite") + ["--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["cardIdentity"] as? String, "iccid:89011234567890123456", second.stdout)
    }
}
