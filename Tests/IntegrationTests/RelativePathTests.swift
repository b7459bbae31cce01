import CardSimulator
import Foundation
import XCTest

/// Path options given as one-letter relative names: dmboot ended with
/// "Illegal instruction" (exit 132) in Foundation's path code (issue 25).
final class RelativePathTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("relative-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", folder.appendingPathComponent("k").path]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// dmboot run from the test's folder, as `cd folder && dmboot ...`.
    func dmboot(_ arguments: [String]) throws -> Executable.Result {
        try Executable.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "cd \"$0\" && exec \"$@\"", folder.path,
                                                             Executable.productsDirectory.appendingPathComponent("dmboot").path]
                           + arguments)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) }

    func testProvisionIntoATreeNamedWithOneLetter() throws {
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let result = try dmboot(["provision", "--reader", Rig.slots[1].reader, "--keys", "k", "--tree", "a"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(exists("a"))
        let shown = try dmboot(["tree", "show", "--tree", "a"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
    }

    /// The folder of each path option is checked before the station starts: an
    /// empty reader with --once then ends with "no card" (6), not a trap (132).
    func testAStationWithOneLetterTreeFolderSummaryAndFailedList() throws {
        let result = try dmboot(["station", "--keys", "k", "--tree-dir", "t", "--summary", "s", "--failed-list", "f",
                                 "--readers", Rig.slots[3].reader, "--once"])
        XCTAssertEqual(result.status, 6, result.stderr)
        let tree = try dmboot(["station", "--keys", "k", "--tree", "a", "--readers", Rig.slots[3].reader, "--once"])
        XCTAssertEqual(tree.status, 6, tree.stderr)
    }
}
