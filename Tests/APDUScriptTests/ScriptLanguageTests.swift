@testable import APDUScript
import APDU
import XCTest

/// Blocks, bounds and file handling of apdu-script(5), and the fixes of
/// issue 16 item 8 (CRLF, empty scripts, Latin-1, includes, expansion).
final class ScriptLanguageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func reasons(_ body: () throws -> Any) -> [String] {
        do {
            _ = try body()
            XCTFail("no error")
            return []
        } catch let error as ScriptSyntaxError {
            return error.problems.map(\.reason)
        } catch {
            return ["\(error)"]
        }
    }

    func testIfElseAndRepeatNestAndRunTheRightBranch() throws {
        let lines = try ScriptParser().parse("""
            set sw 6A82
            if sw 9000
              echo never
            else
              repeat 2
                echo round $i
              end
            end
            """, file: "t")
        guard case .ifBlock(.status("9000"), let then, let otherwise) = lines[1].statement else { return XCTFail("\(lines)") }
        XCTAssertEqual(then.map(\.statement), [.echo("never")])
        guard case .repeatBlock("2", let body)? = otherwise.first?.statement else { return XCTFail("\(otherwise)") }
        XCTAssertEqual(body.map(\.number), [6])
    }

    func testUnbalancedBlocksAreSyntaxErrorsWithTheirLines() {
        XCTAssertEqual(reasons { try ScriptParser().parse("if sw 9000\necho x", file: "t") }, ["if is not closed by end"])
        XCTAssertEqual(reasons { try ScriptParser().parse("echo x\nend", file: "t") }, ["end without an open if or repeat"])
        XCTAssertEqual(reasons { try ScriptParser().parse("repeat 2\nelse\nend", file: "t") }, ["else without an open if"])
        XCTAssertEqual(reasons { try ScriptParser().parse("if sw 90\nend", file: "t") },
                       ["\"90\" is not a status pattern: four hex digits, X or ? for any digit, alternatives joined by |"])
        XCTAssertEqual(reasons { try ScriptParser().parse("if status 9000\nend", file: "t") },
                       ["if takes sw PATTERN or response ~ PATTERN: if sw 9000 … else … end"])
    }

    func testResponsePatternsAreAnchoredGlobs() throws {
        XCTAssertTrue(try ResponsePattern("62*").matches([0x62, 0x0E, 0x80]))
        XCTAssertTrue(try ResponsePattern("*8A0105").matches([0x62, 0x03, 0x8A, 0x01, 0x05]))
        XCTAssertTrue(try ResponsePattern("6X 0E").matches([0x62, 0x0E]))
        XCTAssertFalse(try ResponsePattern("62").matches([0x62, 0x0E]))
        XCTAssertFalse(try ResponsePattern("6F*").matches([0x62]))
        XCTAssertThrowsError(try ResponsePattern("6G*"))
        // Linear, not exponential, in the number of stars.
        let many = try ResponsePattern(String(repeating: "*0", count: 200) + "1")
        XCTAssertFalse(many.matches([UInt8](repeating: 0, count: 4000)))
    }

    func testFailStopsWithItsMessage() throws {
        let interpreter = ScriptInterpreter(write: { _ in })
        XCTAssertThrowsError(try interpreter.run(ScriptParser().parse("echo a\nfail \"card is not personalised\"\necho b", file: "f"))) { error in
            guard case ScriptFailure.failed(let file, let line, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual([file, String(line), message], ["f", "2", "card is not personalised"])
        }
    }

    func testCRLFScriptsParseLineByLine() throws {
        let path = try write("crlf.apdu", Array("# comment\r\necho one\r\n\r\necho two\r\n".utf8))
        let lines = try ScriptParser().parseFile(path)
        XCTAssertEqual(lines.map(\.statement), [.echo("one"), .echo("two")])
        XCTAssertEqual(lines.map(\.number), [2, 4])
    }

    func testAScriptWithNoExecutableStepIsAnError() throws {
        let path = try write("empty.apdu", Array("# only a comment\r\n\r\n".utf8))
        XCTAssertEqual(reasons { try ScriptParser().parseFile(path) }, ["the script has no executable step (only comments or blank lines)"])
        XCTAssertEqual(reasons { try ScriptParser().parseScript([], file: "<stdin>") },
                       ["the script has no executable step (only comments or blank lines)"])
    }

    func testALatin1ByteIsReportedWithLineAndColumn() throws {
        let path = try write("latin1.apdu", Array("echo ok\necho caf".utf8) + [0xE9] + Array("\n".utf8))
        XCTAssertEqual(reasons { try ScriptParser().parseFile(path) },
                       ["byte E9 at column 9 is not UTF-8 (save the script as UTF-8; Latin-1 is not read)"])
        XCTAssertThrowsError(try ScriptParser().parseFile(path)) { error in
            XCTAssertEqual((error as? ScriptSyntaxError)?.problems.first?.line, 2)
        }
    }

    func testNumbersAreBounded() {
        XCTAssertEqual(reasons { try ScriptParser().parse("sleep 1e10", file: "t") }, ["sleep takes seconds from 0 to 600; not \"1e10\""])
        XCTAssertEqual(reasons { try ScriptParser().parse("sleep nan", file: "t") }, ["sleep takes seconds from 0 to 600; not \"nan\""])
        XCTAssertEqual(reasons { try ScriptParser().parse("sleep -1", file: "t") }, ["sleep takes seconds from 0 to 600; not \"-1\""])
        XCTAssertEqual(reasons { try ScriptParser().parse("repeat 100000\nend", file: "t") }, ["repeat count 100000 is outside 1...10000"])
        XCTAssertEqual(reasons { try ScriptParser().parse("read binary 40000", file: "t") }, ["offset 40000 is outside 0...32767"])
        XCTAssertEqual(reasons { try ScriptParser().parse("read record 255", file: "t") }, ["record number 255 is outside 1...254"])
        XCTAssertEqual(reasons { try ScriptParser().parse("channel 20", file: "t") }, ["channel 20 is outside 0...19"])
    }

    func testAVariableSleepIsCheckedWhenItRuns() throws {
        let interpreter = ScriptInterpreter(write: { _ in })
        XCTAssertThrowsError(try interpreter.run(ScriptParser().parse("set s 99999\nsleep $s", file: "t"))) { error in
            XCTAssertTrue("\(error)".contains("sleep takes seconds from 0 to 600"), "\(error)")
        }
    }

    func testIncludedFilesAreCheckedBeforeAnythingRuns() throws {
        let broken = try write("broken.apdu", Array("echo fine\nfrobnicate\n".utf8))
        let main = try write("main.apdu", Array("echo first\ninclude broken.apdu\n".utf8))
        XCTAssertThrowsError(try ScriptParser().parseFile(main)) { error in
            let problems = (error as? ScriptSyntaxError)?.problems ?? []
            XCTAssertEqual(problems.map(\.file), [broken])
            XCTAssertEqual(problems.map(\.line), [2])
        }
        let missing = try write("missing.apdu", Array("include nowhere.apdu\n".utf8))
        XCTAssertTrue(reasons { try ScriptParser().parseFile(missing) }.first?.contains("no such file") == true)
        let loop = try write("loop.apdu", Array("include loop.apdu\n".utf8))
        XCTAssertEqual(reasons { try ScriptParser().parseFile(loop) }, ["loop.apdu includes itself"])
        XCTAssertEqual(reasons { try ScriptParser().parse("include $name", file: "t") },
                       ["include takes a literal file name, so it can be checked before the script runs"])
    }

    func testVariableExpansionIsBounded() throws {
        let interpreter = ScriptInterpreter(write: { _ in })
        var script = "set x 0123456789ABCDEF\n"
        for _ in 0..<14 { script += "set x $x$x\n" }
        XCTAssertThrowsError(try interpreter.run(ScriptParser().parse(script, file: "t"))) { error in
            XCTAssertTrue("\(error)".contains("more than 65536 characters"), "\(error)")
        }
        XCTAssertLessThanOrEqual(interpreter.variables["x"]?.count ?? 0, ScriptVariables.maxLength)
    }

    func testTyposGetASuggestion() {
        XCTAssertEqual(reasons { try ScriptParser().parse("selct aid A0000000", file: "t") },
                       ["unknown command \"selct\"; did you mean \"select\"? (help lists the commands)"])
        XCTAssertEqual(ShellHelp.text(for: "stauts"), ["no command \"stauts\"; did you mean \"status\"? (help lists them)"])
    }

    /// apdu-shell's hints name what works in apdu-shell, never dmboot's flags.
    func testMissingKeysAreExplainedInTheShellsOwnTerms() {
        XCTAssertFalse(ScriptFailure.noKeys.description.contains("--key-enc"))
        XCTAssertTrue(ScriptFailure.noKeys.description.contains("--keys FILE"))
    }

    func testHelpShowsEveryEntryWhole() {
        let text = ShellHelp.text(for: nil).joined(separator: "\n")
        for (_, usage, description) in ShellHelp.entries {
            XCTAssertTrue(text.contains(usage), usage)
            XCTAssertTrue(text.replacingOccurrences(of: "\n      ", with: " ").contains(description), description)
        }
    }
}
