import DMBootstrap
@testable import DMTree
import Foundation
import JSONOutput
import XCTest

final class TreeStoreTests: XCTestCase {
    var folder: URL!
    var path: String { folder.appendingPathComponent("tree.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    static func account(_ name: String, server: String, secret: String = "s3cret") -> DMAccount {
        DMAccount(name: name, source: .syncML, nodes: [
            DMNode(path: "AppID", format: .chr, value: Array("w7".utf8)),
            DMNode(path: "ServerID", format: .chr, value: Array(server.utf8)),
            DMNode(path: "AppAddr/1/Addr", format: .chr, value: Array("https://\(server).example".utf8)),
            DMNode(path: "AppAuth/1/AAuthSecret", format: .chr, value: Array(secret.utf8)),
            DMNode(path: "Auth/Bootstrap/ClientSecretKey", format: .bin, value: [0, 1, 2, 0xFF]),
        ])
    }

    func bytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// The store's own gate, whatever path the accounts took: OMA DM TND 1.2.1 section 5 names only.
    func testTheStoreRefusesNamesThatWouldAliasOrEscapeAnAccount() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("DemoServer", server: "demo", secret: "original")], provenance: Provenance(source: .manual),
                              prune: false)
        for name in ["..", ".", "DemoServer/AppAuth", "", "x\u{1B}"] {
            XCTAssertThrowsError(try store.install([Self.account(name, server: "evil", secret: "stolen")],
                                                   provenance: Provenance(source: .push), prune: false), name.debugDescription) { error in
                guard case .invalidAccounts? = error as? BootstrapError else { return XCTFail("\(error)") }
            }
        }
        var sneaky = Self.account("Other", server: "other")
        sneaky.set(DMNode(path: "../DemoServer/AppAuth/1/AAuthSecret", format: .chr, value: Array("stolen".utf8)))
        XCTAssertThrowsError(try store.install([sneaky], provenance: Provenance(source: .push), prune: false))
        XCTAssertEqual(try store.node(at: "./DMAcc/DemoServer/AppAuth/1/AAuthSecret").value, Array("original".utf8))
        XCTAssertEqual(try store.installedAccounts().map(\.name), ["DemoServer"])
    }

    /// OMA-TS-DM_TND-V1_2_1 7.7.1.5: a ServerID holding "&", "=", "*", "+" or white space would
    /// add ACL entries of its own ("Replace=evil&Get=*" made the secrets readable by all).
    func testTheStoreRefusesAServerIDThatWouldRewriteItsACLs() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("Good", server: "good")], provenance: Provenance(source: .manual), prune: false)
        for server in ["evil&Get=*", "evil+other", "evil one", "*", ""] {
            XCTAssertThrowsError(try store.install([Self.account("Evil", server: server, secret: "stolen")],
                                                   provenance: Provenance(source: .push), prune: false), server) { error in
                guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
                XCTAssertEqual(problems.map(\.path), ["ServerID"])
            }
        }
        XCTAssertEqual(try store.installedAccounts().map(\.name), ["Good"])
        XCTAssertTrue(try store.nodes().allSatisfy { DMACL(parsing: $0.acl) != nil })
    }

    /// A tree written before ServerIDs were checked may hold "Replace=evil&Get=*" on its secrets:
    /// a credential stays unreadable by its name, and an ACL that breaks the grammar grants nothing.
    func testASecretIsNeverReadableWhateverItsStoredACLSays() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("A", server: "alpha")], provenance: Provenance(source: .manual), prune: false)
        try store.database.query("UPDATE node SET acl = ?", [.text("Replace=evil&Get=*")])
        XCTAssertFalse(try store.node(at: "./DMAcc/A/AppAuth/1/AAuthSecret").isReadable)
        XCTAssertFalse(try store.node(at: "./DMAcc/A/Auth/Bootstrap/ClientSecretKey").isReadable)
        XCTAssertTrue(try store.node(at: "./DMAcc/A/ServerID").isReadable)
        try store.database.query("UPDATE node SET acl = ?", [.text("Get=evil one")])
        XCTAssertFalse(try store.node(at: "./DMAcc/A/ServerID").isReadable)
    }

    func testInstallKeepsFormatsBytesAndACLsAndMakesAPrivateFile() throws {
        let store = try TreeStore(path: path, create: true)
        let report = try store.install([Self.account("A", server: "alpha")], provenance: Provenance(source: .smartcard,
                                       cardIdentity: "pkcs15:01"), prune: true)
        XCTAssertEqual(report.added, ["A"])
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600)
        let key = try store.node(at: "./DMAcc/A/Auth/Bootstrap/ClientSecretKey")
        XCTAssertEqual(key.value, [0, 1, 2, 0xFF])
        XCTAssertEqual(key.format, .bin)
        XCTAssertEqual(key.acl, "Replace=alpha")
        XCTAssertFalse(key.isReadable)
        XCTAssertTrue(try store.node(at: "DMAcc/A/ServerID").isReadable)
        XCTAssertEqual(try store.node(at: "./DMAcc/A/AppAddr").format, .node)
        XCTAssertEqual(try store.installedAccounts().map(\.provenance.cardIdentity), ["pkcs15:01"])
    }

    func testTheSameCardTwiceChangesNotOneByte() throws {
        let provenance = Provenance(source: .smartcard, cardIdentity: "pkcs15:01")
        _ = try TreeStore(path: path, create: true).install([Self.account("A", server: "alpha")], provenance: provenance, prune: true)
        let before = try bytes()
        let report = try TreeStore(path: path, create: false).install([Self.account("A", server: "alpha")],
                                                                     provenance: provenance, prune: true)
        XCTAssertEqual(report.unchanged, ["A"])
        XCTAssertFalse(report.changesTree)
        XCTAssertEqual(try bytes(), before)
    }

    func testPruneRemovesOnlyStaleSmartcardAccounts() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("Manual", server: "manual")], provenance: Provenance(source: .manual), prune: false)
        _ = try store.install([Self.account("A", server: "alpha"), Self.account("B", server: "beta")],
                              provenance: Provenance(source: .smartcard, cardIdentity: "pkcs15:01"), prune: true)
        let report = try store.install([Self.account("A", server: "alpha")],
                                       provenance: Provenance(source: .smartcard, cardIdentity: "pkcs15:02"), prune: true)
        XCTAssertEqual(report.removed, ["B"])
        XCTAssertEqual(report.replaced, ["A"], "the same account from another card: provenance changes")
        XCTAssertEqual(try store.installedAccounts().map(\.name), ["A", "Manual"])
        XCTAssertThrowsError(try store.node(at: "./DMAcc/B")) {
            XCTAssertEqual($0 as? TreeStoreError, .noSuchNode("./DMAcc/B"))
        }
    }

    func testServerIDsStayUnique() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("Old", server: "alpha")], provenance: Provenance(source: .push), prune: false)
        let report = try store.install([Self.account("New", server: "alpha")],
                                       provenance: Provenance(source: .smartcard), prune: true)
        XCTAssertEqual(report.replaced, ["New"])
        XCTAssertEqual(try store.installedAccounts().map(\.name), ["New"])
    }

    func testADryRunWritesNothing() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("A", server: "alpha")], provenance: Provenance(source: .smartcard), prune: true)
        let before = try bytes()
        let report = try store.install([Self.account("B", server: "beta")], provenance: Provenance(source: .smartcard),
                                       prune: true, dryRun: true)
        XCTAssertEqual(report.added, ["B"])
        XCTAssertEqual(report.removed, ["A"])
        XCTAssertEqual(try bytes(), before)
        XCTAssertEqual(try store.installedAccounts().map(\.name), ["A"])
    }

    func testExportImportRoundTripsAndARedactedExportCannotRestore() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("A", server: "alpha"), Self.account("B", server: "beta")],
                              provenance: Provenance(source: .smartcard), prune: true)
        let full = try JSONOutput.document(TreeExport.json(try store.accounts(), revealSecrets: true))
        let restored = try TreeExport.accounts(fromJSON: full)
        XCTAssertEqual(restored.accounts.map(\.nodes), try store.accounts().map(\.0.nodes))
        XCTAssertEqual(restored.secretsLeftOut, [])
        let tnds = TreeExport.tnds(try store.accounts(), acls: [:], revealSecrets: true)
        let fromTNDS = try BootstrapDecoder().decode(Array(tnds.utf8), format: .tnds).accounts
        XCTAssertEqual(fromTNDS.map(\.nodes), try store.accounts().map(\.0.nodes))
        let redacted = try JSONOutput.document(TreeExport.json(try store.accounts(), revealSecrets: false))
        let leftOut = ["./DMAcc/A/AppAuth/1/AAuthSecret", "./DMAcc/A/Auth/Bootstrap/ClientSecretKey",
                       "./DMAcc/B/AppAuth/1/AAuthSecret", "./DMAcc/B/Auth/Bootstrap/ClientSecretKey"]
        XCTAssertEqual(try TreeExport.accounts(fromJSON: redacted).secretsLeftOut, leftOut)
        XCTAssertEqual(TreeExport.leftOutSecrets(try store.accounts(), revealSecrets: false), leftOut)
        let redactedTNDS = TreeExport.tnds(try store.accounts(), acls: [:], revealSecrets: false)
        XCTAssertTrue(redactedTNDS.contains("<!-- dmboot: 4 secret value(s) were left out"), redactedTNDS)
        XCTAssertEqual(try TreeExport.secretsWithoutValue(inTNDS: Array(redactedTNDS.utf8)), leftOut)
        XCTAssertEqual(try TreeExport.secretsWithoutValue(inTNDS: Array(tnds.utf8)), [])
    }

    func testAJSONExportBeyondTheDecodingLimitsIsRefused() {
        let deep = Array(repeating: "a", count: DecodingLimits.maxPathSegments + 1).joined(separator: "/")
        let json = #"{"accounts": [{"name": "A", "nodes": [{"path": "\#(deep)", "format": "chr", "value": "v"}]}]}"#
        XCTAssertThrowsError(try TreeExport.accounts(fromJSON: Data(json.utf8))) {
            XCTAssertEqual($0 as? ImportError, .malformed("A: a node path has more than \(DecodingLimits.maxPathSegments) segments"))
        }
        let wide = (0...DecodingLimits.maxNodesPerAccount).map { #"{"path": "Ext/\#($0)", "format": "chr", "value": "v"}"# }
        let many = #"{"accounts": [{"name": "A", "nodes": [\#(wide.joined(separator: ","))]}]}"#
        XCTAssertThrowsError(try TreeExport.accounts(fromJSON: Data(many.utf8))) {
            XCTAssertEqual($0 as? BootstrapError, .limitExceeded("account A has more than \(DecodingLimits.maxNodesPerAccount) nodes"))
        }
    }

    func testAJSONImportNamesWhatIsMissingAndTakesAnyRedactedMemberAsLeftOut() throws {
        let cases: [(String, String)] = [
            (#"[{"name": "A"}]"#, #"not a dmboot tree export: no "accounts" list"#),
            (#"{"accounts": [{"name": "A", "nodes": [{"path": "ServerID", "format": "chr"}, 7]}]}"#,
             "an account has no name or nodes"),
            (#"{"accounts": [{"nodes": []}]}"#, "an account has no name or nodes"),
            (#"{"accounts": [{"name": "A", "nodes": [{"path": "ServerID", "format": "text"}]}]}"#,
             "A: a node has no path or a bad format"),
            (#"{"accounts": [{"name": "A", "nodes": [{"path": "AppAuth/1/AAuthData", "format": "bin", "base64": "%%"}]}]}"#,
             "A/AppAuth/1/AAuthData: bad base64"),
        ]
        for (json, reason) in cases {
            XCTAssertThrowsError(try TreeExport.accounts(fromJSON: Data(json.utf8)), json) {
                XCTAssertEqual($0 as? ImportError, .malformed(reason), json)
            }
        }
        let json = #"""
            {"accounts": [{"name": "A", "nodes": [{"path": "ServerID", "format": "chr", "value": "a", "type": 3},
                                                  {"path": "AppAuth/1/AAuthSecret", "format": "chr", "redacted": null}]}]}
            """#
        let imported = try TreeExport.accounts(fromJSON: Data(json.utf8))
        XCTAssertEqual(imported.secretsLeftOut, ["./DMAcc/A/AppAuth/1/AAuthSecret"])
        let account = try XCTUnwrap(imported.accounts.first)
        XCTAssertEqual(account.node("ServerID"), DMNode(path: "ServerID", format: .chr, type: nil, value: Array("a".utf8)),
                       "a type that is not text is ignored")
        XCTAssertEqual(account.node("AppAuth/1/AAuthSecret"), DMNode(path: "AppAuth/1/AAuthSecret", format: .chr, value: []))
    }

    /// Issue 16, item 4: values XML cannot carry byte for byte (not UTF-8, a
    /// control character such as U+000B, a carriage return) travel as b64
    /// (OMA DM TND 1.2, 5.3.3 Format "b64"), and come back as the same bytes.
    func testValuesXMLCannotCarryRoundTripAsB64() throws {
        let awkward: [(String, [UInt8])] = [
            ("Latin1", Array("caf".utf8) + [0xE9]),
            ("VerticalTab", Array("a\u{0B}b".utf8)),
            ("CarriageReturn", Array("line1\r\nline2".utf8)),
            ("Nul", [0x41, 0x00, 0x42]),
            ("NonCharacter", Array("\u{FFFE}".utf8)),
        ]
        var account = Self.account("A", server: "alpha", secret: String(decoding: [0x73, 0x0B], as: UTF8.self))
        account.set(DMNode(path: "AppAuth/1/AAuthData", format: .chr, value: [0xC3, 0x28, 0x00]))
        for (name, value) in awkward { account.set(DMNode(path: "Ext/\(name)", format: .chr, value: value)) }
        account.set(DMNode(path: "Ext/Plain", format: .chr, value: Array("tab\tand\nnewline <&> é".utf8)))
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([account], provenance: Provenance(source: .manual), prune: true)
        let tnds = TreeExport.tnds(try store.accounts(), acls: [:], revealSecrets: true)
        let restored = try XCTUnwrap(try BootstrapDecoder().decode(Array(tnds.utf8), format: .tnds).accounts.first)
        for node in try store.accounts()[0].0.nodes {
            XCTAssertEqual(restored.node(node.path)?.value, node.value, node.path)
        }
        for (name, _) in awkward { XCTAssertEqual(restored.node("Ext/\(name)")?.format, .b64, name) }
        XCTAssertEqual(restored.node("AppAuth/1/AAuthSecret")?.format, .b64)
        XCTAssertEqual(restored.node("Ext/Plain")?.format, .chr, "what XML carries stays chr")
        XCTAssertEqual(restored.node("Auth/Bootstrap/ClientSecretKey")?.format, .bin)
        let json = try JSONOutput.document(TreeExport.json(try store.accounts(), revealSecrets: true))
        XCTAssertEqual(try TreeExport.accounts(fromJSON: json).accounts.map(\.nodes), try store.accounts().map(\.0.nodes))
    }

    /// "Café" with a decomposed é (e + U+0301) is one character for Swift and
    /// two code points for SQLite: subtree deletes and reads compare bytes.
    func testADecomposedAccountNameIsDeletedWithEveryChildAndNotConfusedWithItsPrecomposedTwin() throws {
        let decomposed = "Cafe\u{301}", precomposed = "Caf\u{E9}"
        XCTAssertEqual(decomposed, precomposed, "Swift compares by canonical equivalence")
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account(decomposed, server: "decomposed"), Self.account(precomposed, server: "precomposed")],
                              provenance: Provenance(source: .manual), prune: false)
        XCTAssertEqual(try store.nodes(under: "./DMAcc/\(decomposed)").count, 12)
        XCTAssertEqual(try store.node(at: "./DMAcc/\(precomposed)/ServerID").value, Array("precomposed".utf8))
        XCTAssertEqual(try store.delete("./DMAcc/\(decomposed)"), 12)
        let left = try store.nodes(under: "./DMAcc").map(\.path)
        XCTAssertFalse(left.contains { $0.utf8.starts(with: "./DMAcc/\(decomposed)".utf8) }, "children left behind: \(left)")
        XCTAssertEqual(try store.node(at: "./DMAcc/\(precomposed)/ServerID").value, Array("precomposed".utf8))
        XCTAssertEqual(try store.installedAccounts().map(\.name), [precomposed])
    }

    func testDeletingAnAccountRootRemovesItsRecord() throws {
        let store = try TreeStore(path: path, create: true)
        _ = try store.install([Self.account("A", server: "alpha")], provenance: Provenance(source: .manual), prune: false)
        XCTAssertEqual(try store.delete("./DMAcc/A"), 12, "the root, 5 leaves and 6 interior nodes")
        XCTAssertTrue(try store.installedAccounts().isEmpty)
        XCTAssertThrowsError(try store.delete("./DMAcc")) { XCTAssertEqual($0 as? TreeStoreError, .invalidPath("./DMAcc")) }
        XCTAssertThrowsError(try store.node(at: "./DMAcc/../x")) { XCTAssertEqual($0 as? TreeStoreError, .invalidPath("./DMAcc/../x")) }
    }

    func testFilesThatAreNotUsableTreesAreRefused() throws {
        try Data("this is not a database at all, just text that is long enough".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TreeStore(path: path, create: false)) { error in
            guard case .corrupt? = error as? TreeStoreError else { return XCTFail("\(error)") }
        }
        try FileManager.default.removeItem(atPath: path)
        try shell("sqlite3 '\(path)' 'CREATE TABLE other (x)'")
        XCTAssertThrowsError(try TreeStore(path: path, create: false)) {
            XCTAssertEqual($0 as? TreeStoreError, .notATreeStore(path: self.path))
        }
        try FileManager.default.removeItem(atPath: path)
        _ = try TreeStore(path: path, create: true)
        try shell("sqlite3 '\(path)' 'PRAGMA user_version = 99'")
        XCTAssertThrowsError(try TreeStore(path: path, create: false)) {
            XCTAssertEqual($0 as? TreeStoreError, .newerSchema(path: self.path, version: 99))
        }
        XCTAssertThrowsError(try TreeStore(path: folder.appendingPathComponent("none.sqlite").path, create: false)) { error in
            guard case .missing? = error as? TreeStoreError else { return XCTFail("\(error)") }
        }
    }

    func testAWriterWaitsForTheBusyTimeoutThenFailsWithoutWriting() throws {
        _ = try TreeStore(path: path, create: true).install([Self.account("A", server: "alpha")],
                                                            provenance: Provenance(source: .manual), prune: false)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()
            """, path]
        let out = Pipe(), release = Pipe()
        holder.standardOutput = out
        holder.standardInput = release
        try holder.run()
        // The lock is held until the test closes the holder's stdin.
        XCTAssertTrue(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))
        let before = try bytes()
        let store = try TreeStore(path: path, create: false, busyTimeout: 0.3)
        XCTAssertThrowsError(try store.install([Self.account("B", server: "beta")], provenance: Provenance(source: .manual),
                                               prune: false)) {
            XCTAssertEqual($0 as? TreeStoreError, .busy(path: self.path))
        }
        try release.fileHandleForWriting.close()
        holder.waitUntilExit()
        XCTAssertEqual(try bytes(), before)
        let waiting = try TreeStore(path: path, create: false, busyTimeout: 5)
        XCTAssertEqual(try waiting.install([Self.account("B", server: "beta")], provenance: Provenance(source: .manual),
                                           prune: false).added, ["B"])
    }

    func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, command)
    }
}
