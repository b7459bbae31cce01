import CardSimulator
import CardTransport
import Foundation
import TestSupport
import XCTest

/// Issue 25 item 9: pcscd stopped and started again under a running station,
/// in the rig's own namespace. The station waits for it (and says so),
/// watches the readers again once it is back, and writes its summary on
/// every way out, also when pcscd stays away past the bound.
final class StationServiceTests: StationTestCase {
    /// The rig's folder (scripts/rig-start.sh): pcscd's pid, configuration and log.
    static let rig: URL = {
        if let folder = ProcessInfo.processInfo.environment["DMBOOT_RIG_DIR"], !folder.isEmpty {
            return URL(fileURLWithPath: folder)
        }
        return APDUShellTests.repository.appendingPathComponent(".rig")
    }()

    func lines() -> Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// The rig's pcscd.
    func pcscd() throws -> pid_t {
        try XCTUnwrap(pid_t(try String(contentsOf: Self.rig.appendingPathComponent("pcscd.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Stops the rig's pcscd and waits until it is gone.
    func stopPCSCD() throws {
        let pid = try pcscd()
        XCTAssertEqual(kill(pid, SIGTERM), 0, "the rig's pcscd runs")
        try waitUntil("pcscd to stop") { kill(pid, 0) != 0 }
    }

    /// Starts pcscd again as rig-start.sh does, records its pid for
    /// rig-stop.sh, and waits until it lists the virtual readers.
    func startPCSCD() throws {
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/sbin/pcscd")
        daemon.arguments = ["--foreground", "--config", Self.rig.appendingPathComponent("reader.conf.d").path]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        try Data("\(daemon.processIdentifier)\n".utf8).write(to: Self.rig.appendingPathComponent("pcscd.pid"))
        try waitUntil("pcscd to list the virtual readers") {
            ((try? PCSCContext().readerNames()) ?? []).contains(Rig.slots[0].reader)
        }
    }

    func testAStationWaitsForPCSCDToComeBackAndGoesOn() throws {
        let summary = path("summary.json")
        let station = try station(["--readers", "0", "--pcscd-wait", "60", "--summary", summary])
        try station.waitUntilWatching()
        let first = try feeder(1, slots: 0..<1).finish()
        XCTAssertEqual(first.status, 0, first.stderr)
        try waitUntil("the first card's line") { lines() == 1 }

        try stopPCSCD()
        try waitUntil("the station to see pcscd gone") { station.errorOutput.contains("pcscd is gone") || !station.isRunning }
        XCTAssertTrue(station.isRunning, "the station waits for pcscd: \(station.errorOutput)")
        try startPCSCD()
        try waitUntil("the station to see pcscd back") { station.errorOutput.contains("pcscd is back") || !station.isRunning }
        XCTAssertTrue(station.isRunning, station.errorOutput)

        let second = try feeder(1, slots: 0..<1, ["--first-card", "1"]).finish()
        XCTAssertEqual(second.status, 0, second.stderr)
        try waitUntil("the second card's line") { lines() == 2 }
        station.signal(SIGTERM)
        let stopped = try station.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])
        XCTAssertEqual(report["provisioned"] as? Int, 2)
    }

    /// A card in flight when pcscd goes fails with the identity read before.
    func testACardInFlightWhenPCSCDGoesIsLoggedWithItsIdentity() throws {
        let station = try station(["--readers", "0", "--pcscd-wait", "60"])
        try station.waitUntilWatching()
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let counters = card.counters
        // pcscd stops under the secure channel's first protected command.
        let daemon = try pcscd()
        card.shouldContinue = { _ in
            guard counters.externalAuthenticates == 1 else { return true }
            kill(daemon, SIGTERM)
            return false
        }
        let inserted = try Rig.insert(card, slot: 0)
        defer { _ = inserted }
        try waitUntil("pcscd to stop") { kill(daemon, 0) != 0 }
        try waitUntil("the card's line") { lines() == 1 }
        XCTAssertTrue(station.errorOutput.contains("pcscd is gone"), station.errorOutput)
        try startPCSCD()
        try waitUntil("the station to see pcscd back") { station.errorOutput.contains("pcscd is back") || !station.isRunning }
        station.signal(SIGTERM)
        let stopped = try station.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: log))) as? [String: Any])
        XCTAssertEqual(line["cardIdentity"] as? String, "iccid:89011234567890123456")
        XCTAssertNotEqual(line["exitCode"] as? Int, 0)
    }

    func testPCSCDAwayPastTheBoundStopsTheStationWithItsSummary() throws {
        let summary = path("summary.json")
        let station = try station(["--readers", "0", "--pcscd-wait", "1", "--summary", summary])
        try station.waitUntilWatching()
        try stopPCSCD()
        let stopped: Executable.Result
        do {
            defer { XCTAssertNoThrow(try startPCSCD(), "the rig is whole again for the next test") }
            stopped = try station.finish()
        }
        XCTAssertEqual(stopped.status, 3, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("pcscd is gone"), stopped.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])
        XCTAssertEqual(report["cards"] as? Int, 0)
        XCTAssertEqual(report["exitCode"] as? Int, 3, "the summary says why the station stopped: \(report)")
    }
}
