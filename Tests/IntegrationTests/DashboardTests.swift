import CardSimulator
import Foundation
import Results
import TestSupport
import XCTest

/// The line as a supervisor sees it (issue 26): two stations through pcscd
/// into one PostgreSQL database, one of them stopping its line; the
/// dashboard in Debian's headless chromium, the station's metrics read by
/// Python's prometheus_client parser, and the --on-stop command.
final class DashboardTests: LineDatabaseTestCase {
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func station(_ id: String, readers: String, keys: String, _ extra: [String]) throws -> BackgroundProcess {
        let state = path("\(id)-state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        return try BackgroundProcess(["station", "--keys", keys, "--tree-dir", path("\(id)-trees"), "--json-log", path("\(id).jsonl"),
                                      "--readers", readers, "--results", database.url, "--station-id", id] + extra,
                                     in: folder, environment: ["XDG_STATE_HOME": state, "DMBOOT_RESULTS": ""])
    }

    func logLines(_ id: String) -> [[String: Any]] {
        (((try? String(contentsOfFile: path("\(id).jsonl"), encoding: .utf8)) ?? "").split(separator: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The first http:// URL a process printed (stdout or stderr), once it has.
    func served(by process: BackgroundProcess, _ what: String) throws -> String {
        var url: String?
        try waitUntil(what) {
            url = (process.output + process.errorOutput).split(whereSeparator: { $0 == "\n" || $0 == " " })
                .first { $0.hasPrefix("http://") }.map(String.init)
            return url != nil
        }
        return url ?? ""
    }

    func python(_ arguments: [String], stdin: String = "") throws -> String {
        let result = try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), arguments, stdin: stdin)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    func testTheDashboardShowsTheLineLiveAndAStoppedLineWithItsReason() throws {
        let dashboard = try BackgroundProcess(["dashboard", "--results", database.url, "--listen", "127.0.0.1:0"], in: folder)
        let page = try served(by: dashboard, "the dashboard to listen")
        let lineA = try station("line-a", readers: "0", keys: keys,
                                ["--batch", "B-2026-12", "--operator", "ann", "--metrics", "127.0.0.1:0"])
        let metrics = try served(by: lineA, "the metrics endpoint")
        let domain = BuiltInProfiles.demoSecurityDomain
        let wrong = path("wrong-keys.json")
        XCTAssertTrue(FileManager.default.createFile(atPath: wrong, contents: Data(#"""
            {"kvn": "\#(domain.kvn)", "enc": "\#(domain.mac)", "mac": "\#(domain.enc)", "dek": "\#(domain.dek)"}
            """#.utf8), attributes: [.posixPermissions: 0o600]))
        let told = path("told.env")
        let lineB = try station("line-b", readers: "2", keys: wrong,
                                ["--max-consecutive-failures", "1", "--on-stop", "env | grep ^DMBOOT_ > '\(told)'"])
        try lineA.waitUntilWatching()
        try lineB.waitUntilWatching()
        XCTAssertEqual(try BackgroundProcess.feeder(3, slots: 0..<1, in: folder).finish().status, 0)
        _ = try BackgroundProcess.feeder(1, slots: 2..<3, ["--untouched-timeout", "2"], in: folder).finish()
        try waitUntil("3 cards at line-a") { logLines("line-a").count == 3 }
        let stoppedB = try lineB.finish()
        XCTAssertEqual(stoppedB.status, 16, stoppedB.stderr)

        // --on-stop: told at once, with the reason.
        let environment = try String(contentsOfFile: told, encoding: .utf8)
        XCTAssertTrue(environment.contains("DMBOOT_STOP_REASON=stopped the line: 1 cards in a row failed with cardNotAuthenticated"),
                      environment)
        XCTAssertTrue(environment.contains("DMBOOT_STOP_STATUS=16") && environment.contains("DMBOOT_STATION_ID=line-b"), environment)

        // The metrics, read by prometheus_client's own parser, count what the JSON log holds.
        let parsed = try python(["-c", """
            import json, sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            text = urllib.request.urlopen(sys.argv[1]).read().decode()
            out = {}
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    out.setdefault(family.name + "|" + family.type, []).append([sample.name, sample.labels, sample.value])
            print(json.dumps(out))
            """, metrics])
        let families = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(parsed.utf8)) as? [String: [[Any]]])
        let cards = try XCTUnwrap(families["dmboot_cards|counter"])
        let provisioned = cards.filter { (($0[1] as? [String: String])?["outcome"]) == "provisioned" }
        XCTAssertEqual(provisioned.compactMap { $0[2] as? Double }, [Double(logLines("line-a").filter { $0["outcome"] as? String == "provisioned" }.count)])
        XCTAssertEqual(provisioned.first.flatMap { ($0[1] as? [String: String])?["station"] }, "line-a")
        let histogram = try XCTUnwrap(families["dmboot_card_duration_seconds|histogram"])
        XCTAssertEqual(histogram.first { ($0[0] as? String) == "dmboot_card_duration_seconds_count" }?[2] as? Double, 3)
        XCTAssertNotNil(families["dmboot_reader_state|gauge"])
        XCTAssertEqual(families["dmboot_results_database_up|gauge"]?.first?[2] as? Double, 1)
        XCTAssertEqual(families["dmboot_line_stopped|gauge"]?.first?[2] as? Double, 0)
        XCTAssertEqual(families["dmboot_spool_records|gauge"]?.first?[2] as? Double, 0)

        // The page in a real browser: what a person sees, then a new card without a reload.
        let artifacts = Self.repository.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("dashboard.png").path
        let feed = [Executable.productsDirectory.appendingPathComponent("dmboot-sim").path, "--feed", "1",
                    "--port", "\(Rig.slots[0].port)"]
        let seen = try python([Self.repository.appendingPathComponent("Tests/IntegrationTests/dashboard_browser.py").path,
                               page, screenshot] + feed)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(seen.utf8)) as? [String: Any])
        let before = try XCTUnwrap(report["before"] as? [String: [String: Any]])
        XCTAssertEqual(before["line-a"]?["state"] as? String, "live")
        XCTAssertEqual((before["line-a"]?["figures"] as? [String: String])?["yield today"], "100.0 %")
        XCTAssertEqual(before["line-b"]?["state"] as? String, "stopped")
        XCTAssertTrue((before["line-b"]?["reason"] as? String)?.contains("stopped the line: 1 cards in a row failed") ?? false,
                      "\(before)")
        XCTAssertTrue((before["line-b"]?["lastFailure"] as? String)?.contains("cardNotAuthenticated (20)") ?? false, "\(before)")
        XCTAssertGreaterThan(report["bars"] as? Int ?? 0, 0, "the throughput chart has bars")
        XCTAssertEqual(report["failureBars"] as? Int, 1, "one failure class today")
        XCTAssertTrue((report["batches"] as? [String])?.contains { $0.hasPrefix("B-2026-12 3 3 0 0 100.0 %") } ?? false, "\(report)")
        XCTAssertEqual(report["notReloaded"] as? Bool, true)
        XCTAssertEqual(((report["after"] as? [String: [String: Any]])?["line-a"]?["figures"] as? [String: String])?["cards today"], "4")
        XCTAssertTrue(FileManager.default.fileExists(atPath: screenshot))
        print("dashboard: a new card shown after \(report["secondsToShowNewCard"] ?? "?") s (feeder included); screenshot \(screenshot)")

        lineA.signal(SIGTERM)
        XCTAssertEqual(try lineA.finish().status, 0)
        let statuses = try ResultsStore(connection: database.connect()).stationStatuses()
        XCTAssertEqual(statuses.map(\.state), [.ended, .stopped])
        XCTAssertEqual(try ResultsStore(connection: database.connect()).records(ResultsFilter(batch: "B-2026-12")).map(\.operator),
                       ["ann", "ann", "ann", "ann"])
        dashboard.signal(SIGTERM)
        XCTAssertEqual(try dashboard.finish().status, 0)
    }

    func testTheDashboardRefusesAnAddressBeyondLoopbackWithoutAToken() throws {
        let open = try Executable.run("dmboot", ["dashboard", "--results", database.url, "--listen", "0.0.0.0:0"])
        XCTAssertEqual(open.status, 131, open.stderr)
        XCTAssertTrue(open.stderr.contains("reachable from other machines: give --token-file"), open.stderr)
        let token = path("token")
        XCTAssertTrue(FileManager.default.createFile(atPath: token, contents: Data("0123456789abcdef0123\n".utf8),
                                                     attributes: [.posixPermissions: 0o644]))
        let readable = try Executable.run("dmboot", ["dashboard", "--results", database.url, "--listen", "0.0.0.0:0",
                                                     "--token-file", token])
        XCTAssertEqual(readable.status, 131, readable.stderr)
        XCTAssertTrue(readable.stderr.contains("lets others read it"), readable.stderr)
        XCTAssertFalse((open.stderr + readable.stderr).contains("secret-password"))
    }

    func testTheAPIAsksForTheBearerTokenAndThePageHoldsNoData() throws {
        let token = path("token")
        XCTAssertTrue(FileManager.default.createFile(atPath: token, contents: Data("0123456789abcdef0123\n".utf8),
                                                     attributes: [.posixPermissions: 0o600]))
        let dashboard = try BackgroundProcess(["dashboard", "--results", database.url, "--listen", "127.0.0.1:0",
                                               "--token-file", token], in: folder)
        let page = try served(by: dashboard, "the dashboard to listen")
        let answers = try python(["-c", """
            import json, sys, urllib.request, urllib.error
            def get(path, token=None):
                request = urllib.request.Request(sys.argv[1] + path)
                if token: request.add_header("Authorization", "Bearer " + token)
                try:
                    with urllib.request.urlopen(request) as answer: return [answer.status, answer.read().decode()]
                except urllib.error.HTTPError as error: return [error.code, error.read().decode()]
            print(json.dumps([get(""), get("api/v1/overview"), get("api/v1/overview", "wrong-token-wrong-token"),
                              get("api/v1/overview", "0123456789abcdef0123")]))
            """, page])
        let results = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(answers.utf8)) as? [[Any]])
        XCTAssertEqual(results.map { $0[0] as? Int }, [200, 401, 401, 200])
        XCTAssertFalse((results[0][1] as? String ?? "").contains("0123456789abcdef0123"), "no token in the page")
        let overview = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((results[3][1] as? String ?? "").utf8)) as? [String: Any])
        XCTAssertNotNil(overview["stations"] as? [Any])
        dashboard.signal(SIGTERM)
        XCTAssertEqual(try dashboard.finish().status, 0)
    }
}
