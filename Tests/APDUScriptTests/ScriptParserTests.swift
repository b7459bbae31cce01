@testable import APDUScript
import APDU
import XCTest

final class ScriptParserTests: XCTestCase {
    func parse(_ text: String) throws -> [Statement] {
        try ScriptParser().parse(text, file: "test.apdu").map(\.statement)
    }

    func testEveryCommandParses() throws {
        let statements = try parse("""
            # a comment
            readers
            connect "Virtual PCD 00 00"
            select aid A000000063504B43532D3135 expect 9000
            select fid 5031
            select path 3F0050155031 expect 9000|6282
            00 A4 04 00 00
            send 00B0000010 expect 61XX
            read binary 16 32 expect 9000
            read record 2
            read all
            scp03 open level 13 keys keys.json
            scp03 close
            pkcs15
            trace on
            set aid A0000000
            echo sw is $sw
            sleep 0.1
            expect 6A82
            help send
            """)
        XCTAssertEqual(Array(statements.prefix(4)), [
            .readers, .connect(reader: "Virtual PCD 00 00"),
            .select(kind: .aid, value: "A000000063504B43532D3135", expect: "9000"),
            .select(kind: .fid, value: "5031", expect: nil),
        ])
        XCTAssertEqual(statements.count, 19)
        XCTAssertEqual(statements[5], .send(hex: "00 A4 04 00 00", expect: nil), "a bare hex line is a send")
        XCTAssertEqual(statements[6], .send(hex: "00B0000010", expect: "61XX"))
        XCTAssertEqual(statements[7], .readBinary(offset: "16", length: "32", expect: "9000"))
        XCTAssertEqual(statements[9], .readAll)
        XCTAssertEqual(statements[10], .openSecureChannel(level: "13", keys: "keys.json", testKeys: false))
        XCTAssertEqual(statements[14], .set(name: "aid", value: "A0000000"))
        XCTAssertEqual(statements[15], .echo("sw is $sw"))
        XCTAssertEqual(statements[18], .help("send"))
    }

    func testSelectTakesHexWithSpacesOrAName() throws {
        XCTAssertEqual(try parse("select path 3F00 5015"), [.select(kind: .path, value: "3F00 5015", expect: nil)])
        XCTAssertEqual(try parse("select aid A0 00 00 00 63 expect 9000"),
                       [.select(kind: .aid, value: "A0 00 00 00 63", expect: "9000")])
        XCTAssertEqual(try parse("select ODF\ncd \"DM bootstrap: demo server\"\ncd ..\ncat EF.ICCID"),
                       [.selectName("ODF"), .selectName("DM bootstrap: demo server"), .selectName(".."), .cat("EF.ICCID")])
        XCTAssertEqual(try parse("select path 3F0050155031 expect 9000|6282"),
                       [.select(kind: .path, value: "3F0050155031", expect: "9000|6282")])
    }

    func testEveryMalformedLineIsReportedWithItsNumber() {
        let script = """
            select aid A0000000
            send 00A4 expect 90
            read binary ten
            frobnicate
            scp03 open level
            00A40400 05 A0
            trace maybe
            select aid XYZ
            """
        XCTAssertThrowsError(try parse(script)) { error in
            guard let syntax = error as? ScriptSyntaxError else { return XCTFail("\(error)") }
            XCTAssertEqual(syntax.problems.map(\.line), [2, 3, 4, 5, 6, 7, 8])
            XCTAssertEqual(syntax.problems[0].reason,
                           "\"90\" is not a status pattern: four hex digits, X or ? for any digit, alternatives joined by |")
            XCTAssertEqual(syntax.problems[2].reason, "unknown command \"frobnicate\" (help lists the commands)")
            XCTAssertTrue(syntax.problems[4].reason.contains("the length field says 5"), syntax.problems[4].reason)
            XCTAssertTrue("\(error)".contains("test.apdu:8:"), "\(error)")
        }
    }

    func testStatusPatterns() throws {
        XCTAssertTrue(try StatusPattern("61XX").matches(StatusWord(0x6110)))
        XCTAssertTrue(try StatusPattern("9000|6282").matches(StatusWord(0x6282)))
        XCTAssertTrue(try StatusPattern("6c??").matches(StatusWord(0x6C05)))
        XCTAssertFalse(try StatusPattern("9000").matches(StatusWord(0x6A82)))
        XCTAssertThrowsError(try StatusPattern("900"))
        XCTAssertThrowsError(try StatusPattern("9000|"))
    }

    func testVariablesAreSubstituted() throws {
        let interpreter = ScriptInterpreter(write: { _ in })
        try interpreter.run(ScriptParser().parse("set fid 5031\nset both ${fid}5032", file: "x"))
        XCTAssertEqual(try interpreter.substitute("select fid $fid"), "select fid 5031")
        XCTAssertEqual(try interpreter.substitute("${both}!"), "50315032!")
        XCTAssertThrowsError(try interpreter.substitute("$nothing")) { error in
            XCTAssertTrue("\(error)".contains("no variable \"nothing\""))
        }
    }

    func testCompletionOffersCommandsKeywordsReadersAndFiles() {
        let completer = ShellCompleter(readers: { ["Virtual PCD 00 00", "ACR38U"] })
        XCTAssertEqual(completer.complete(prefix: "", word: "se"), .words(["select", "send", "set"]))
        XCTAssertEqual(completer.complete(prefix: "select ", word: "a"), .words(["aid"]))
        XCTAssertEqual(completer.complete(prefix: "connect ", word: ""), .words(["\"Virtual PCD 00 00\"", "ACR38U"]))
        // Unquoted and inside an open quote: libedit replaces only the word after the last space.
        XCTAssertEqual(completer.complete(prefix: "connect ", word: "Vir"), .words(["\"Virtual PCD 00 00\""]))
        XCTAssertEqual(completer.complete(prefix: "connect \"", word: "Vir"), .words(["Virtual PCD 00 00\""]))
        XCTAssertEqual(completer.complete(prefix: "connect \"Virtual PCD 00 ", word: "0"), .words(["00\""]))
        XCTAssertEqual(completer.complete(prefix: "include ", word: "Card"), .files)
        XCTAssertEqual(completer.complete(prefix: "scp03 open keys ", word: ""), .files)
        XCTAssertEqual(completer.complete(prefix: "help ", word: "re"), .words(["readers", "reset", "read", "repeat"]))
    }
}
