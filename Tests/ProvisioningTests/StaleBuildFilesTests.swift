import DMBootstrap
import DMTree
import Foundation
import Provisioning
import TestSupport
import XCTest

/// Issue 16, item 7: a first install killed before its rename leaves
/// tree.sqlite.new-PID and its journal; the next install removes them, and
/// only them: a file whose process still runs may be a tree being built.
/// Issue 25 item 3: with one tree per card, another card's leftover in the
/// same folder goes too, since that card may never come back.
final class StaleBuildFilesTests: XCTestCase {
    var folder: URL!
    var tree: String { folder.appendingPathComponent("tree.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func touch(_ name: String) {
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data("x".utf8)), "cannot create the test file")
    }

    func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    func testOnlyFilesOfProcessesThatAreGoneAreRemoved() throws {
        let dead = try deadPID()
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["60"]
        try sleeper.run()
        defer { sleeper.terminate() }
        let live = sleeper.processIdentifier
        let parent = getppid()
        let stale = ["tree.sqlite.new-\(dead)", "tree.sqlite.new-\(dead)-journal", "iccid-8901.sqlite.new-\(dead)"]
        let kept = ["tree.sqlite.new-\(live)", "tree.sqlite.new-\(parent)-journal", "tree.sqlite.new-abc",
                    "tree.sqlite.new-\(dead)-notes", "notes.txt.new-\(dead)", "iccid-8902.sqlite.new-\(live)"]
        for name in stale + kept { touch(name) }
        XCTAssertEqual(StaleBuildFiles(treePath: tree).names(), stale.sorted())

        let account = DMAccount(name: "A", source: .tnds, nodes: [
            DMNode(path: "AppID", format: .chr, value: Array("w7".utf8)),
            DMNode(path: "ServerID", format: .chr, value: Array("alpha".utf8)),
        ])
        _ = try TreeInstaller(path: tree, busyTimeout: 1).install([account], provenance: Provenance(source: .manual),
                                                                   prune: false, dryRun: false)
        XCTAssertEqual(try files(), (kept + ["tree.sqlite"]).sorted())
        XCTAssertEqual(StaleBuildFiles(treePath: tree).removeAll(), [])
    }
}
