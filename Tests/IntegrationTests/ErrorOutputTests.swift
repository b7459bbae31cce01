import CardSimulator
import Foundation
import XCTest

/// How dmboot fails (issue 17, "Errors and output"): one JSON object with
/// --json for every failure, messages that say what to do, one exit-code
/// contract for dmboot and apdu-shell.
final class ErrorOutputTests: XCTestCase {
    static let noPCSCD = ["PCSCLITE_CSOCK_NAME": "/tmp/dmboot-no-pcscd.comm"]

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The single JSON object a failing command wrote on stdout.
    func failure(_ result: Executable.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                   "stdout is not one JSON object: \(result.stdout)", file: file, line: line)
        XCTAssertEqual(object["ok"] as? Bool, false, file: file, line: line)
        XCTAssertEqual(object["exitCode"] as? Int, Int(result.status), file: file, line: line)
        XCTAssertFalse(result.stderr.isEmpty, "the message is on stderr too", file: file, line: line)
        return object
    }

    func testReadersWithoutPCSCDAnswersInJSONAndSaysHowToStartTheService() throws {
        let result = try Executable.run("dmboot", ["readers", "--json"], environment: Self.noPCSCD)
        XCTAssertEqual(result.status, 3)
        let object = try failure(result)
        XCTAssertEqual(object["class"] as? String, "serviceUnavailable")
        let message = try XCTUnwrap(object["message"] as? String)
        XCTAssertTrue(message.contains("systemctl start pcscd.socket"), message)
        XCTAssertTrue(result.stderr.contains("systemctl start pcscd.socket"), result.stderr)
    }

    func testEveryKindOfFailureIsOneJSONObjectWithJSON() throws {
        let usage = try Executable.run("dmboot", ["card", "info", "--json", "--no-such-flag"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertEqual(try failure(usage)["class"] as? String, "usage")

        let missingFile = try Executable.run("dmboot", ["decode", "/nonexistent.wbxml", "--json"])
        XCTAssertEqual(missingFile.status, 13)
        XCTAssertEqual(try failure(missingFile)["class"] as? String, "fileError")

        let tree = folder.appendingPathComponent("none.sqlite").path
        let noTree = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--json"])
        XCTAssertEqual(noTree.status, 50)
        XCTAssertEqual(try failure(noTree)["class"] as? String, "treeStore")

        let card = try Executable.run("dmboot", ["card", "info", "--reader", "Omnikey", "--json"])
        XCTAssertEqual(card.status, 5)
        XCTAssertEqual(try failure(card)["class"] as? String, "readerNotFound")
    }

    func testWithoutJSONNothingIsWrittenOnStdoutOnFailure() throws {
        let result = try Executable.run("dmboot", ["readers"], environment: Self.noPCSCD)
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "")
    }

    func testTheExitCodeContractIsListedWithTheShellsCodes() throws {
        let result = try Executable.run("dmboot", ["exit-codes", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let codes = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let classes = Dictionary(uniqueKeysWithValues: codes.map { ($0["class"] as? String ?? "", $0["code"] as? Int ?? -1) })
        XCTAssertEqual(classes["expectationFailed"], 14)
        XCTAssertEqual(classes["fileError"], 13)
        XCTAssertEqual(Set(codes.compactMap { $0["code"] as? Int }).count, codes.count, "every code is distinct")

        let shell = try Executable.run("apdu-shell", ["-f", "/nonexistent.apdu"])
        XCTAssertEqual(shell.status, 13, shell.stderr)
        let noPCSCD = try Executable.run("apdu-shell", ["--json"], environment: Self.noPCSCD,
                                         stdin: "select aid A000000063504B43532D3135\n")
        XCTAssertEqual(noPCSCD.status, 3, "as dmboot: serviceUnavailable")
    }

    /// Every tool ends through one entry (ToolEntry): a command-line
    /// mistake is 2 and, with --json, a failure object; help and version are 0.
    func testEveryToolAnswersACommandLineMistakeAsDmbootDoes() throws {
        for tool in ["apdu-shell", "dmboot", "dmboot-sim"] {
            let mistake = try Executable.run(tool, ["--no-such-flag"])
            XCTAssertEqual(mistake.status, 2, "\(tool): \(mistake.stderr)")
            XCTAssertTrue(mistake.stderr.contains("Unknown option '--no-such-flag'"), mistake.stderr)
            XCTAssertEqual(mistake.stdout, "")
            let json = try Executable.run(tool, ["--json", "--no-such-flag"])
            XCTAssertEqual(json.status, 2, json.stderr)
            XCTAssertEqual(try failure(json)["class"] as? String, "usage")
            let help = try Executable.run(tool, ["--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            XCTAssertTrue(help.stdout.contains("USAGE: \(tool)"), help.stdout)
            let version = try Executable.run(tool, ["--version"])
            XCTAssertEqual(version.status, 0, version.stderr)
            XCTAssertEqual(version.stdout, "0.1.0\n")
        }
        let invalid = try Executable.run("apdu-shell", ["--diversify", "kdf9", "--json"])
        XCTAssertEqual(invalid.status, 2, invalid.stderr)
        XCTAssertEqual(try failure(invalid)["message"] as? String, "--diversify: the one method is kdf3")
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    // MARK: numeric options (issue 16 item 6)

    func testNumbersATimerCannotTakeAreRangeErrorsNotCrashes() throws {
        let tree = path("tree.sqlite")
        let cases: [[String]] = [
            ["tree", "show", "--tree", tree, "--busy-timeout", "1e10"],
            ["tree", "show", "--tree", tree, "--busy-timeout", "inf"],
            ["tree", "show", "--tree", tree, "--busy-timeout", "nan"],
            ["tree", "show", "--tree", tree, "--busy-timeout=-1"],
            ["tree", "check-server", "--tree", tree, "--timeout", "nan"],
            ["tree", "check-server", "--tree", tree, "--timeout", "inf"],
            ["tree", "check-server", "--tree", tree, "--timeout", "0"],
            ["card", "info", "--wait", "inf"],
            ["station", "--tree", tree, "--gp-test-keys", "--busy-timeout", "inf"],
        ]
        for arguments in cases {
            let result = try Executable.run("dmboot", arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(" takes ") && result.stderr.contains(" from "), "\(arguments): \(result.stderr)")
        }
        let gap = try Executable.run("dmboot-sim", ["--feed", "1", "--gap", "nan"])
        XCTAssertEqual(gap.status, 2, gap.stderr)
        XCTAssertTrue(gap.stderr.contains("--gap takes seconds from 0 to 3600; nan is not a number"), gap.stderr)
        let past = try Executable.run("dmboot-sim", ["--feed", "2", "--first-card", "99999999"])
        XCTAssertEqual(past.status, 2, past.stderr)
        XCTAssertTrue(past.stderr.contains("--first-card takes a card number (the last card of the batch must fit in 8 digits) from 0 to 99999998"),
                      past.stderr)
        let prefix = try Executable.run("dmboot-sim", ["--feed", "1", "--iccid-prefix", "89x"])
        XCTAssertEqual(prefix.status, 2, prefix.stderr)
        XCTAssertTrue(prefix.stderr.contains("--iccid-prefix takes 1 to 12 decimal digits; got \"89x\""), prefix.stderr)
        let nan = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--busy-timeout", "nan", "--json"])
        XCTAssertTrue(try failure(nan)["message"] as? String == "--busy-timeout takes seconds from 0 to 3600; nan is not a number",
                      nan.stdout)
    }

    // MARK: key files

    func writeKeys(_ json: String) throws -> String {
        let file = path("keys-\(UUID().uuidString).json")
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600]))
        return file
    }

    func testAKeyFileWithANumericKVNOpensTheCardAndBadFilesNameTheField() throws {
        let domain = BuiltInProfiles.demoSecurityDomain
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let kvn = try XCTUnwrap(Int(domain.kvn, radix: 16))
        let numeric = try writeKeys(#"{"kvn": \#(kvn), "enc": "\#(domain.enc)", "mac": "\#(domain.mac)", "dek": "\#(domain.dek)"}"#)
        let opened = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", numeric, "--json"])
        XCTAssertEqual(opened.status, 0, opened.stderr)

        let short = try writeKeys(#"{"kvn": "\#(domain.kvn)", "enc": "\#(domain.enc.dropLast())", "mac": "\#(domain.mac)", "dek": "\#(domain.dek)"}"#)
        let refused = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", short])
        XCTAssertEqual(refused.status, 23)
        XCTAssertTrue(refused.stderr.contains("enc: 31 hex digits, expected 32, 48 or 64"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains(String(domain.enc.dropLast())), "no key in messages")

        let truncated = try writeKeys(#"{"kvn": "30", "enc": "\#(domain.enc)""#)
        let cut = try Executable.run("dmboot", ["scp03", "test", "--reader", Rig.slots[1].reader, "--keys", truncated])
        XCTAssertEqual(cut.status, 23)
        XCTAssertTrue(cut.stderr.contains("not JSON"), cut.stderr)
    }

    // MARK: the tree's location and paths

    func testTreeShowOfAMissingNodeFailsLikeTreeGet() throws {
        let tree = path("tree.sqlite")
        let tnds = Self.fixtures.appendingPathComponent("dm12-psk-tnds.xml").path
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "import", tnds, "--tree", tree]).status, 0)
        XCTAssertEqual(try Executable.run("dmboot", ["tree", "show", "./DMAcc/DemoServer/AppAddr", "--tree", tree]).status, 0)
        let show = try Executable.run("dmboot", ["tree", "show", "./DMAcc/NoSuch", "--tree", tree])
        let get = try Executable.run("dmboot", ["tree", "get", "./DMAcc/NoSuch", "--tree", tree])
        XCTAssertEqual(show.status, 52, show.stderr)
        XCTAssertEqual(get.status, 52)
        XCTAssertEqual(show.stderr, get.stderr)
        XCTAssertEqual(show.stdout, "")
    }

    func testAnExplicitTreeInAMissingFolderIsAnErrorAndTheDefaultFollowsXDGAndHOME() throws {
        let tnds = Self.fixtures.appendingPathComponent("dm12-psk-tnds.xml").path
        let typo = path("no-such-folder/tree.sqlite")
        let refused = try Executable.run("dmboot", ["tree", "import", tnds, "--tree", typo])
        XCTAssertEqual(refused.status, 13, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the folder \(path("no-such-folder")) does not exist"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("no-such-folder")))
        let fromEnvironment = try Executable.run("dmboot", ["tree", "import", tnds], environment: ["DMBOOT_TREE": typo])
        XCTAssertEqual(fromEnvironment.status, 13, fromEnvironment.stderr)

        let home = try Executable.run("dmboot", ["tree", "import", tnds, "--json"],
                                      environment: ["HOME": path("home"), "XDG_DATA_HOME": "", "DMBOOT_TREE": ""])
        XCTAssertEqual(home.status, 0, home.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("home/.local/share/dmboot/tree.sqlite")))
        let xdg = try Executable.run("dmboot", ["tree", "import", tnds],
                                     environment: ["HOME": path("home"), "XDG_DATA_HOME": path("xdg"), "DMBOOT_TREE": ""])
        XCTAssertEqual(xdg.status, 0, xdg.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("xdg/dmboot/tree.sqlite")))
    }

    // MARK: choosing the reader

    func testCardInfoWithoutAReaderTakesTheOneHoldingACard() throws {
        let none = try Executable.run("dmboot", ["card", "info"])
        XCTAssertEqual(none.status, 6, none.stderr)
        XCTAssertTrue(none.stderr.contains("no reader holds a card"), none.stderr)

        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 2)
        defer { try? Rig.remove(inserted, slot: 2) }
        let info = try Executable.run("dmboot", ["card", "info", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["reader"] as? String, Rig.slots[2].reader)

        let second = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 3)
        defer { try? Rig.remove(second, slot: 3) }
        let two = try Executable.run("dmboot", ["card", "info"])
        XCTAssertEqual(two.status, 5, two.stderr)
        XCTAssertTrue(two.stderr.contains("several readers hold a card") && two.stderr.contains(Rig.slots[3].reader), two.stderr)
    }

    // MARK: secrets and input files (issue 16 item 9)

    func testMissingSecretsHaveTheirOwnCode() throws {
        let body = Self.fixtures.appendingPathComponent("dm12-x509.wbxml").path
        let contentType = "application/vnd.syncml.dm+wbxml;USERPIN;" + String(repeating: "0", count: 40)
        let push = try Executable.run("dmboot", ["push", "verify", body, "--content-type", contentType],
                                      environment: ["DMBOOT_PUSH_PIN": ""])
        XCTAssertEqual(push.status, 15, push.stderr)
        XCTAssertTrue(push.stderr.contains("USERPIN"), push.stderr)
        let password = try Executable.run("dmboot", ["auth", "digest", "--user", "u", "--nonce", "AAAA"],
                                          environment: ["DMBOOT_PASSWORD": ""])
        XCTAssertEqual(password.status, 15, password.stderr)
        let gba = try Executable.run("dmboot", ["auth", "gba-keys"])
        XCTAssertEqual(gba.status, 15, gba.stderr)
        XCTAssertTrue(gba.stderr.contains("Ks_NAF"), gba.stderr)
    }

    func testAFIFOADeviceOrAHugeSecretFileIsRefusedBeforeReading() throws {
        let body = Self.fixtures.appendingPathComponent("dm12-x509.wbxml").path
        let contentType = "application/vnd.syncml.dm+wbxml;USERPIN;" + String(repeating: "0", count: 40)
        let fifo = path("pin.fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (file, reason) in [(fifo, "not a regular file (a FIFO)"), ("/dev/zero", "not a regular file (a character device)")] {
            let result = try Executable.run("dmboot", ["push", "verify", body, "--content-type", contentType, "--pin-file", file])
            XCTAssertEqual(result.status, 13, result.stderr)
            XCTAssertTrue(result.stderr.contains(reason), result.stderr)
        }
        let huge = path("huge-pin")
        try SecretFileFixture.write(Data(), to: huge)
        XCTAssertEqual(truncate(huge, 1 << 30), 0, "a sparse 1 GiB file: nothing is written to disk")
        let result = try Executable.run("dmboot", ["push", "verify", body, "--content-type", contentType, "--pin-file", huge])
        XCTAssertEqual(result.status, 13, result.stderr)
        XCTAssertTrue(result.stderr.contains("larger than 65536 bytes"), result.stderr)
    }

    func testAContentTypeDigestIsASCIIHexOnly() throws {
        let body = Self.fixtures.appendingPathComponent("dm12-x509.wbxml").path
        let fullwidth = "application/vnd.syncml.dm+wbxml;USERPIN;" + String(repeating: "0", count: 39) + "\u{FF10}"
        let result = try Executable.run("dmboot", ["push", "verify", body, "--content-type", fullwidth],
                                        environment: ["DMBOOT_PUSH_PIN": "1234"])
        XCTAssertEqual(result.status, 71, result.stderr)
        XCTAssertTrue(result.stderr.contains("is not hex"), result.stderr)
    }

    func testAPEMThatIsNotAnRSAKeyHasItsOwnCode() throws {
        let key = path("ec.pem"), publicKey = path("ec-public.pem"), payload = path("payload")
        for arguments in [["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
                          ["pkey", "-in", key, "-pubout", "-out", publicKey]] {
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            openssl.arguments = arguments
            try openssl.run()
            openssl.waitUntilExit()
            XCTAssertEqual(openssl.terminationStatus, 0)
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: payload))
        let result = try Executable.run("dmboot", ["mcim", "pack", "--public-key", publicKey, "--payload", payload,
                                                   "--out", path("blob")])
        XCTAssertEqual(result.status, 91, result.stderr)
        XCTAssertTrue(result.stderr.contains("not an RSA public key"), result.stderr)
    }

    func testWriteKeysNeverReplacesAFileWithoutForce() throws {
        let keys = path("keys.json")
        try Data("other keys".utf8).write(to: URL(fileURLWithPath: keys))
        let refused = try Executable.run("dmboot-sim", ["--write-keys", keys])
        XCTAssertEqual(refused.status, 13, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: keys, encoding: .utf8), "other keys")
        let forced = try Executable.run("dmboot-sim", ["--write-keys", keys, "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(try String(contentsOfFile: keys, encoding: .utf8).contains("\"enc\""))
    }
}
