import Foundation
import TestSupport
import XCTest

/// `dmboot station --config FILE` (issue 27): the file's options are the
/// command line's, and the command line wins.
final class StationConfigTests: StationTestCase {
    func testAConfigRunsTheStationAndTheCommandLineWins() throws {
        let config = path("station-line7.conf")
        let summary = path("summary.json")
        try Data("""
            # station line 7
            keys = \(keys!)
            tree-dir = \(trees)
            json-log = \(log)
            max-cards = 2
            station-id = from-config
            summary = \(summary)
            """.utf8).write(to: URL(fileURLWithPath: config))
        let station = try BackgroundProcess(["station", "--config", config, "--station-id", "from-command-line"], in: folder)
        try station.waitUntilWatching()
        let fed = try feeder(2, slots: 0..<1).finish()
        let stopped = try station.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("2 card(s): 2 provisioned"), stopped.stdout)
        XCTAssertTrue(stopped.stderr.contains("options from \(config)"), stopped.stderr)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(lines.map { $0["stationID"] as? String }, ["from-command-line", "from-command-line"])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any])
        XCTAssertEqual(report["provisioned"] as? Int, 2)
    }

    func testKeysInHexAndUnknownKeysInAConfigAreUsageErrors() throws {
        let config = path("bad.conf")
        try Data("tree-dir = \(trees)\nkey-enc = 404142434445464748494A4B4C4D4E4F\n".utf8).write(to: URL(fileURLWithPath: config))
        let refused = try Executable.run("dmboot", ["station", "--config", config])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("line 2: key-enc is refused in an options file: keys go in a key file"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("404142"), "the key is not echoed")

        try Data("tree-dir = \(trees)\ntree-dri = x\n".utf8).write(to: URL(fileURLWithPath: config))
        let unknown = try Executable.run("dmboot", ["station", "--config", config, "--keys", keys])
        XCTAssertEqual(unknown.status, 2, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("--tree-dri"), unknown.stderr)

        let missing = try Executable.run("dmboot", ["station", "--config", path("none.conf")])
        XCTAssertEqual(missing.status, 13, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("none.conf"), missing.stderr)
    }
}
