import APDU
import CardSimulator
import Foundation
import Synchronization
import TestSupport
import XCTest

/// The dmboot executable against pcscd and the virtual card, as a user runs it.
final class CommandLineTests: XCTestCase {
    func testReadersAndCardInfoShowTheVirtualCard() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo))
        defer { try? Rig.remove(inserted) }
        let readers = try Executable.run("dmboot", ["readers", "--json"])
        XCTAssertEqual(readers.status, 0, readers.stderr)
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(readers.stdout.utf8)) as? [String: Any])
        let entries = try XCTUnwrap(list["readers"] as? [[String: Any]])
        let first = try XCTUnwrap(entries.first { $0["name"] as? String == Rig.slots[0].reader })
        XCTAssertEqual(first["cardPresent"] as? Bool, true)

        let info = try Executable.run("dmboot", ["card", "info", "--reader", "Virtual PCD 00 00", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["atr"] as? String, BuiltInProfiles.demoATR)
        XCTAssertEqual(object["historicalText"] as? String, "dmboot-vcard")
        XCTAssertEqual(object["protocols"] as? [String], ["T=1"])
    }

    func testPCSCDNotRunningExitsWithItsOwnCode() throws {
        // libpcsclite honours PCSCLITE_CSOCK_NAME: a socket nobody serves is a stopped pcscd.
        let result = try Executable.run("dmboot", ["readers"],
                                        environment: ["PCSCLITE_CSOCK_NAME": "/tmp/dmboot-no-pcscd.comm"])
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(result.stderr.contains("pcscd) is not running"), result.stderr)
    }

    func testAnEmptyReaderExitsWithNoCard() throws {
        let result = try Executable.run("dmboot", ["card", "info", "--reader", Rig.slots[3].reader])
        XCTAssertEqual(result.status, 6, result.stderr)
        XCTAssertTrue(result.stderr.contains("no card in reader"), result.stderr)
    }

    func testWaitingForACardTimesOutWithItsOwnCode() throws {
        let result = try Executable.run("dmboot", ["card", "info", "--reader", "3", "--wait", "0.3"])
        XCTAssertEqual(result.status, 9, result.stderr)
        XCTAssertTrue(result.stderr.contains("for a card in \"\(Rig.slots[3].reader)\""), result.stderr)
    }

    func testAmbiguousAndUnknownReadersAreUsageOfTheirOwn() throws {
        let ambiguous = try Executable.run("dmboot", ["card", "info", "--reader", "Virtual"])
        XCTAssertEqual(ambiguous.status, 5)
        XCTAssertTrue(ambiguous.stderr.contains("matches several readers"), ambiguous.stderr)
        let unknown = try Executable.run("dmboot", ["card", "info", "--reader", "Omnikey"])
        XCTAssertEqual(unknown.status, 5)
    }

    func testBadFlagsExitWithTheUsageCode() throws {
        let result = try Executable.run("dmboot", ["card", "info", "--wait", "-1"])
        XCTAssertEqual(result.status, 2)
        let unknown = try Executable.run("dmboot", ["readers", "--no-such-flag"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("--no-such-flag"), unknown.stderr)
    }

    func testCardInsertedWhileWaitingIsUsed() throws {
        let process = Process()
        process.executableURL = Executable.productsDirectory.appendingPathComponent("dmboot")
        process.arguments = ["card", "info", "--reader", Rig.slots[1].reader, "--wait", "10", "--json"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let errors = Mutex(Data())
        err.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            errors.withLock { $0.append(chunk) }
        }
        defer { err.fileHandleForReading.readabilityHandler = nil }
        try process.run()
        try waitUntil("dmboot to say it waits") {
            String(decoding: errors.withLock { $0 }, as: UTF8.self)
                .contains("waiting up to 10 s for a card in \"\(Rig.slots[1].reader)\"")
        }
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertTrue(text.contains(BuiltInProfiles.demoATR), text)
    }

    /// The helper every command test goes through: a child that writes more
    /// than a pipe holds to stderr before its stdout (and reads a large
    /// stdin) still finishes.
    func testTheRunHelperDrainsStderrWhileReadingStdout() throws {
        let finished = DispatchSemaphore(value: 0)
        let result = Mutex<Executable.Result?>(nil)
        let input = String(repeating: "x", count: 300_000)
        Thread.detachNewThread {
            let outcome = try? Executable.run(URL(fileURLWithPath: "/bin/sh"),
                                              ["-c", "head -c 300000 /dev/zero | tr '\\0' e >&2; wc -c; echo done"],
                                              stdin: input)
            result.withLock { $0 = outcome }
            finished.signal()
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 20), .success, "the helper deadlocked")
        let outcome = try XCTUnwrap(result.withLock { $0 })
        XCTAssertEqual(outcome.stderr.count, 300_000)
        XCTAssertEqual(outcome.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }, ["300000", "done"])
    }
}
