import Foundation
import Results
import TestSupport
import XCTest

/// `dmboot results list | report | flush` as a factory script runs them,
/// against a real PostgreSQL server.
final class ResultsCommandTests: DatabaseTestCase {
    var line: TestStation!
    var environment: [String: String] { ["XDG_STATE_HOME": line.folder.path, "DMBOOT_RESULTS": ""] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        line = try station("line-1")
    }

    func dmboot(_ arguments: [String]) throws -> Executable.Result {
        try Executable.run("dmboot", arguments, environment: environment)
    }

    func seed() throws -> [ResultRecord] {
        let recorder = try line.recorder(database.url)
        var first = line.record("pkcs15:0A01")
        first.replaced = ["Old, \"quoted\" name"]
        var pulled = line.record(nil, .failed, failureClass: "cardRemoved", exitCode: 7, time: first.time + 1)
        pulled.error = "the card was removed, mid-read"
        for record in [first, pulled] { try recorder.finish(nil, record) }
        return [first, pulled]
    }

    /// --results-password-file follows the rule of secret files, and no
    /// message shows a password, whatever libpq makes of the URL (issue 25).
    func testThePasswordComesFromAnOwnerOnlyFileAndNoMessageShowsOne() throws {
        let file = line.folder.appendingPathComponent("results-password").path
        try SecretFileFixture.write(Data("FileS3cret\n".utf8), to: file)
        let listed = try dmboot(["results", "list", "--results", database.url, "--results-password-file", file])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(chmod(file, 0o644), 0)
        let exposed = try dmboot(["results", "list", "--results", database.url, "--results-password-file", file])
        XCTAssertEqual(exposed.status, 55, exposed.stderr)
        XCTAssertTrue(exposed.stderr.contains("chmod 600"), exposed.stderr)
        XCTAssertEqual(chmod(file, 0o600), 0)
        let twice = try dmboot(["results", "list", "--results", "postgresql://line:UrlS3cret@/x?host=/nonexistent",
                                "--results-password-file", file])
        XCTAssertEqual(twice.status, 2, twice.stderr)
        XCTAssertTrue(twice.stderr.contains("give it once"), twice.stderr)
        for url in ["postgresql://line:UrlS3cret@[::1/db", "postgresql://line:UrlS3cret%zz@localhost/db",
                    "postgresql://line:Url@S3cret@localhost/db"] {
            let result = try dmboot(["results", "list", "--results", url])
            XCTAssertEqual(result.status, 2, result.stderr)
            for piece in ["UrlS3cret", "S3cret"] { XCTAssertFalse((result.stdout + result.stderr).contains(piece), result.stderr) }
        }
        XCTAssertFalse((listed.stderr + exposed.stderr + twice.stderr).contains("FileS3cret"))
    }

    func testListWritesRecordsAsTextJSONAndCSVThatPythonReads() throws {
        let records = try seed()
        let text = try dmboot(["results", "list", "--results", database.url])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("line-1  Virtual PCD 00 00  pkcs15:0A01  provisioned"), text.stdout)
        XCTAssertTrue(text.stdout.contains("FAILED cardRemoved (7)"), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix("2 record(s)\n"))

        let json = try dmboot(["results", "list", "--results", database.url, "--json"])
        let array = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(array.compactMap { $0["recordID"] as? String }, records.map { $0.recordID.uuidString })
        XCTAssertEqual(array.first?["kvn"] as? Int, 0x30)
        XCTAssertEqual(array.last?["failureClass"] as? String, "cardRemoved")

        let csv = try dmboot(["results", "list", "--results", database.url, "--csv", "--outcome", "provisioned"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        // Python's csv module, not ours, reads it back.
        let parsed = try python("""
            import csv, json, sys
            print(json.dumps(list(csv.DictReader(sys.stdin))))
            """, stdin: csv.stdout)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(parsed.utf8)) as? [[String: String]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?["cardIdentity"], "pkcs15:0A01")
        XCTAssertEqual(rows.first?["replaced"], "Old, \"quoted\" name")
        XCTAssertEqual(rows.first?["exitCode"], "0")
        XCTAssertEqual(rows.first?["atr"], "3B8A80010031C173C8400000900090")
    }

    /// `results report --batch --html`: a page that stands alone (no external
    /// reference, no script), with the batch's figures, its failed cards and
    /// charts, and every value from the database escaped.
    func testTheHTMLReportOfABatchStandsAloneShowsItsFiguresAndEscapesTheDatabase() throws {
        let recorder = try line.recorder(database.url)
        let start = Date(timeIntervalSince1970: 1_794_999_600)
        var records = [line.record("pkcs15:0B01", time: start), line.record("pkcs15:0B02", time: start + 60),
                       line.record("pkcs15:0B03", time: start + 3700),
                       line.record("pkcs15:0B01", .alreadyProvisioned, failureClass: "alreadyProvisioned", exitCode: 100, time: start + 90),
                       line.record("<script>alert(1)</script>", .failed, failureClass: "authenticationRefused", exitCode: 30,
                                   time: start + 120),
                       line.record(nil, .failed, failureClass: "cardRemoved", exitCode: 7, time: start + 3800)]
        records[4].error = "card said <6982> & \"refused\""
        records[5].error = "the card was removed"
        var other = line.record("pkcs15:0C99", .failed, failureClass: "cardRemoved", exitCode: 7, time: start + 30)
        other.batch = "B-other"
        for index in records.indices { records[index].batch = "B-<7>" }
        for record in records + [other] { try recorder.finish(nil, record) }

        // Kept beside the dashboard's screenshot, for a person to open or print.
        let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let file = artifacts.appendingPathComponent("batch-report.html").path
        let written = try dmboot(["results", "report", "--results", database.url, "--batch", "B-<7>", "--html", file])
        XCTAssertEqual(written.status, 0, written.stderr)
        let page = try String(contentsOfFile: file, encoding: .utf8)
        for shown in ["<td class=\"n\">6</td>", "<td class=\"n\">3</td>", "<td class=\"n\">2</td>", "<td class=\"n\">1</td>",
                      "60.0 %", "Batch B-&lt;7&gt;", "(not read)", "authenticationRefused", "cardRemoved",
                      "the card was removed", "card said &lt;6982&gt; &amp; &quot;refused&quot;", "@media print"] {
            XCTAssertTrue(page.contains(shown), "the page shows \(shown)")
        }
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the hostile identity is shown, escaped")
        XCTAssertEqual(page.components(separatedBy: "<script").count, 1, "no script on the page, the hostile identity neither")
        XCTAssertEqual(page.components(separatedBy: "<svg").count, 3, "two charts: failure classes and timeline")
        XCTAssertFalse(page.contains("pkcs15:0C99"), "only the batch's cards")
        XCTAssertFalse(page.contains("pkcs15:0B01"), "a duplicate is no failed card")
        for external in ["http://", "https://", "src=", "href=", "url("] {
            XCTAssertFalse(page.contains(external), "no external reference: \(external)")
        }
        XCTAssertEqual(page.components(separatedBy: "<tr><td>").count - 1, 2, "the two failed cards, and not the duplicate")

        let unbatched = try dmboot(["results", "report", "--results", database.url, "--html", file])
        XCTAssertEqual(unbatched.status, 2, unbatched.stderr)
        XCTAssertTrue(unbatched.stderr.contains("--batch"), unbatched.stderr)
        let nowhere = try dmboot(["results", "report", "--results", database.url, "--batch", "B-<7>", "--html", "/nonexistent/b.html"])
        XCTAssertNotEqual(nowhere.status, 0)
    }

    func testReportAndFilters() throws {
        _ = try seed()
        let report = try dmboot(["results", "report", "--results", database.url, "--json", "--station", "line-1"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?["cards"] as? Int, 2)
        XCTAssertEqual(rows.first?["failures"] as? [String: Int], ["cardRemoved": 1])
        let total = try XCTUnwrap(object["total"] as? [String: Any])
        XCTAssertEqual(total["cards"] as? Int, 2)
        XCTAssertEqual(total["yieldPercent"] as? Double, 50)
        XCTAssertEqual(total["station"] as? String, "all")
        let none = try dmboot(["results", "report", "--results", database.url, "--json", "--station", "line-2"])
        XCTAssertEqual(((try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [String: Any])?["rows"] as? [Any])?.count, 0)
        let text = try dmboot(["results", "report", "--results", database.url, "--until", "2999-01-01"])
        XCTAssertEqual(text.stdout.split(separator: "\n").last?.split(separator: " ").prefix(8).map(String.init),
                       ["total", "all", "2", "1", "1", "0", "0", "50.0%"], text.stdout)
        let earlier = try dmboot(["results", "list", "--results", database.url, "--until", "2000-01-01"])
        XCTAssertTrue(earlier.stdout.hasSuffix("0 record(s)\n"), earlier.stdout)
        XCTAssertEqual(try dmboot(["results", "report", "--results", database.url, "--until", "soon"]).status, 2)
        let later = try dmboot(["results", "list", "--results", database.url, "--since", "2999-01-01"])
        XCTAssertTrue(later.stdout.hasSuffix("0 record(s)\n"), later.stdout)
        let recent = try dmboot(["results", "list", "--results", database.url, "--since", "10m"])
        XCTAssertTrue(recent.stdout.hasSuffix("2 record(s)\n"), recent.stdout)
        XCTAssertEqual(try dmboot(["results", "list", "--results", database.url, "--since", "yesterday"]).status, 2)
        XCTAssertEqual(try dmboot(["results", "list", "--results", database.url, "--json", "--csv"]).status, 2)
        XCTAssertEqual(try dmboot(["results", "list"]).status, 2, "no URL at all")
    }

    func testFlushDeliversTheSpoolOnceAndKeepsItWhileTheDatabaseIsDown() throws {
        let offline = try line.recorder(TestDatabase.unreachable)
        for identity in ["pkcs15:0B01", "pkcs15:0B02"] {
            try offline.finish(try offline.claim(line.record(identity)), line.record(identity))
        }
        let down = try dmboot(["results", "flush", "--results", TestDatabase.unreachable])
        XCTAssertEqual(down.status, 101, down.stderr)
        XCTAssertTrue(down.stderr.contains("2 record(s) stay spooled"), down.stderr)
        XCTAssertEqual(line.spool.count, 2)

        let url = "postgresql://dmboot:s3cret-password@/\(database.name)?host="
            + (URLComponents(string: database.url)?.queryItems?.first { $0.name == "host" }?.value ?? "")
        let flushed = try dmboot(["results", "flush", "--results", url, "--json"])
        XCTAssertEqual(flushed.status, 0, flushed.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(flushed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["stored"] as? Int, 2)
        XCTAssertEqual(line.spool.count, 0)
        let again = try dmboot(["results", "flush", "--results", url])
        XCTAssertTrue(again.stdout.contains("0 record(s) delivered"), again.stdout)
        XCTAssertEqual(try ResultsStore(connection: database.connect()).records(ResultsFilter()).count, 2)
        XCTAssertFalse((down.stderr + flushed.stdout + again.stdout + again.stderr).contains("s3cret"))
    }

    func python(_ script: String, stdin: String) throws -> String {
        let result = try Executable.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script], stdin: stdin)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }
}
