import Foundation
import TestSupport
import XCTest

/// What a running station does with the signals an operating system sends it.
final class StationSignalTests: StationTestCase {
    /// Issue 25, item 10: logrotate renames the log and sends SIGHUP. The
    /// station keeps running, and the next card's line goes to a new file
    /// at the original path, not to the renamed one.
    func testSIGHUPReopensTheRenamedLogAndTheStationKeepsRunning() throws {
        let station = try station(["--readers", "0"])
        try station.waitUntilWatching()
        let first = try feeder(1, slots: 0..<1).finish()
        XCTAssertEqual(first.status, 0, first.stderr)
        try waitUntil("the first card's line") { (try? StationLogLine.parse(file: log).count) == 1 }

        let rotated = path("station.jsonl.1")
        XCTAssertEqual(rename(log, rotated), 0)
        station.signal(SIGHUP)
        try waitUntil("the station to reopen its log") { station.errorOutput.contains("reopened the log") || !station.isRunning }
        XCTAssertTrue(station.isRunning, "SIGHUP ended the station: \(station.errorOutput)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: log), "a new log at the original path")

        let second = try feeder(1, slots: 0..<1).finish()
        XCTAssertEqual(second.status, 0, second.stderr)
        try waitUntil("the second card's line") { (try? StationLogLine.parse(file: log).count) == 1 }
        station.signal(SIGTERM)
        let stopped = try station.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("station: 2 card(s)"), stopped.stdout)
        XCTAssertEqual(try StationLogLine.parse(file: rotated).count, 1, "the renamed file keeps only the line before the rotation")
        XCTAssertEqual(try StationLogLine.parse(file: log).count, 1)
    }
}
