import CommandLineSupport
import ExitContract
import Foundation
import XCTest

final class OptionFileTests: XCTestCase {
    let text = """
        # line 7 of the factory
        readers = Virtual PCD 00 00, Virtual PCD 00 01
        tree-dir = /var/lib/dmboot/trees

        once
        dm-label = DM Bootstrap
        dm-label = Second = label
        """

    func testLinesBecomeTheCommandLinesOwnOptions() throws {
        let file = try OptionFile(path: "station.conf", text: text)
        XCTAssertEqual(file.arguments(overriddenBy: []), [
            "--readers=Virtual PCD 00 00, Virtual PCD 00 01", "--tree-dir=/var/lib/dmboot/trees", "--once",
            "--dm-label=DM Bootstrap", "--dm-label=Second = label",
        ])
        XCTAssertEqual(file.lines.map(\.number), [2, 3, 5, 6, 7])
    }

    func testAKeyOnTheCommandLineDropsEveryLineOfThatKey() throws {
        let file = try OptionFile(path: "station.conf", text: text)
        XCTAssertEqual(file.arguments(overriddenBy: ["--dm-label", "X", "--tree-dir=/tmp/t", "--", "--once"]),
                       ["--readers=Virtual PCD 00 00, Virtual PCD 00 01", "--once"],
                       "options after -- are not options")
    }

    func testTheFileIsSplicedBeforeTheCommandLineOfItsCommandOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("a.conf").path
        try Data("tree-dir = /t\nmax-cards = 5\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try OptionFile.expand(["station", "--config", path, "--max-cards", "9"], command: "station", option: "--config"),
                       ["station", "--tree-dir=/t", "--config", path, "--max-cards", "9"])
        XCTAssertEqual(try OptionFile.expand(["station", "--config=\(path)"], command: "station", option: "--config"),
                       ["station", "--tree-dir=/t", "--max-cards=5", "--config=\(path)"])
        XCTAssertEqual(try OptionFile.expand(["provision", "--config", path], command: "station", option: "--config"),
                       ["provision", "--config", path])
        XCTAssertThrowsError(try OptionFile.expand(["station", "--config", folder.appendingPathComponent("none").path],
                                                   command: "station", option: "--config")) { error in
            XCTAssertEqual(ToolEntry.status(of: error), .fileError)
        }
    }

    func testABadLineOrARefusedKeyNamesItsLineAndIsAUsageError() {
        XCTAssertThrowsError(try OptionFile(path: "s.conf", text: "tree-dir = /t\n--once\n")) { error in
            XCTAssertEqual(error as? OptionFileError, .badLine(path: "s.conf", line: 2, reason: "\"--once\" is not key = value or a flag"))
            XCTAssertEqual(ToolEntry.status(of: error), .usage)
        }
        XCTAssertThrowsError(try OptionFile(path: "s.conf", text: "summary =\n")) { error in
            XCTAssertEqual(error as? OptionFileError, .badLine(path: "s.conf", line: 1, reason: "summary has no value after ="))
        }
        XCTAssertThrowsError(try OptionFile(path: "s.conf", text: "Tree\u{1B}[2J = x\n")) { error in
            XCTAssertFalse("\(error)".contains("\u{1B}"), "a control character is escaped: \(error)")
        }
        XCTAssertThrowsError(try OptionFile(path: "s.conf", text: "\n\nkey-enc = 404142\n", refused: ["key-enc": "keys go in a key file"])) { error in
            XCTAssertEqual("\(error)", "s.conf, line 3: key-enc is refused in an options file: keys go in a key file")
            XCTAssertEqual(ToolEntry.status(of: error), .usage)
        }
    }
}
