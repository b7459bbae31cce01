import APDU
import CardSession
import CardSimulator
import CardTransport
import DMBootstrap
import DMTree
import Foundation
import PKCS15
import Provisioning
import SecureChannel
import XCTest

/// The whole job in process, against the fixture cards.
final class ProvisionerTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/cards")
    var folder: URL!
    var tree: String { folder.appendingPathComponent("tree.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("prov-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A link into a virtual card that is pulled after `removeAfter` commands.
    final class Link: CardLink {
        let card: VirtualCard
        var remaining: Int
        init(_ card: VirtualCard, removeAfter: Int = .max) {
            self.card = card
            remaining = removeAfter
        }
        func transmit(raw command: [UInt8]) throws -> [UInt8] {
            guard remaining > 0 else { throw PCSCError.cardRemoved(reader: "in-process") }
            remaining -= 1
            return card.process(command)
        }
    }

    func provision(_ profile: String, policy: ProvisioningPolicy = ProvisioningPolicy(), level: UInt8 = 0x33,
                   dryRun: Bool = false, removeAfter: Int = .max) throws -> Provisioner.Report {
        let card = try VirtualCard(profile: CardProfile.load(from: Self.fixtures.appendingPathComponent("\(profile).json")))
        let domain = BuiltInProfiles.demoSecurityDomain
        var reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac,
                                                             dek: domain.dek, mode: nil, source: "test").0)
        reader.level = try SecurityLevel(level)
        var provisioner = Provisioner(reader: reader, policy: policy, tree: .file(tree))
        provisioner.dryRun = dryRun
        return try provisioner.provision(over: ISO7816Channel(link: Link(card, removeAfter: removeAfter)), atr: card.atr)
    }

    func treeBytes() -> Data? { FileManager.default.contents(atPath: tree) }

    /// one-dm.json with its bootstrap objects replaced by `documents` (written beside the profile).
    func provisionCard(with documents: [String]) throws -> Provisioner.Report {
        let source = try Data(contentsOf: Self.fixtures.appendingPathComponent("one-dm.json"))
        var profile = try XCTUnwrap(try JSONSerialization.jsonObject(with: source) as? [String: Any])
        var pkcs15 = try XCTUnwrap(profile["pkcs15"] as? [String: Any])
        var objects: [[String: Any]] = []
        for (index, document) in documents.enumerated() {
            try Data(document.utf8).write(to: folder.appendingPathComponent("doc\(index).xml"))
            objects.append(["kind": "dm", "label": "DM \(index)", "fid": String(format: "%04X", 0x6001 + index),
                            "contentFile": "doc\(index).xml"])
        }
        pkcs15["objects"] = objects
        profile["pkcs15"] = pkcs15
        let url = folder.appendingPathComponent("card.json")
        try JSONSerialization.data(withJSONObject: profile).write(to: url)
        let card = try VirtualCard(profile: CardProfile.load(from: url))
        let domain = BuiltInProfiles.demoSecurityDomain
        let reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac,
                                                             dek: domain.dek, mode: nil, source: "test").0)
        return try Provisioner(reader: reader, policy: ProvisioningPolicy(), tree: .file(tree))
            .provision(over: ISO7816Channel(link: Link(card)), atr: card.atr)
    }

    static func syncML(account: String, server: String) -> String {
        """
        <SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Add><CmdID>1</CmdID>
        <Item><Target><LocURI>./DMAcc/\(account)/ServerID</LocURI></Target><Data>\(server)</Data></Item>
        <Item><Target><LocURI>./DMAcc/\(account)/AppAddr/1/Addr</LocURI></Target><Data>https://\(server).example</Data></Item>
        </Add></SyncBody></SyncML>
        """
    }

    /// The card path of issue 16 item 3: OMA DM TND 1.2.1 section 5 names only, and one definition per account.
    func testACardWithABadAccountNameOrTheSameAccountTwiceInstallsNothing() throws {
        XCTAssertThrowsError(try provisionCard(with: [Self.syncML(account: "..", server: "evil")])) { error in
            guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.first?.account, "..")
        }
        XCTAssertThrowsError(try provisionCard(with: [Self.syncML(account: "Same", server: "one"),
                                                      Self.syncML(account: "Same", server: "two")])) { error in
            guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertTrue(problems.contains { $0.problem.contains("two bootstrap objects") }, "\(problems)")
        }
        XCTAssertNil(treeBytes())
        let report = try provisionCard(with: [Self.syncML(account: "Fine", server: "fine")])
        XCTAssertEqual(report.install.added, ["Fine"])
    }

    func testTwoServersThenACardWithOneOfThemPrunesTheOther() throws {
        let first = try provision("two-dm")
        XCTAssertEqual(first.install.added, ["DemoServer", "Backup"])
        XCTAssertEqual(first.cardIdentity, "iccid:89011234567890123456", "EF.ICCID is preferred to the TokenInfo serial")
        let second = try provision("one-dm")
        XCTAssertEqual(second.install.removed, ["DemoServer"])
        XCTAssertEqual(second.install.unchanged, ["Backup"])
        XCTAssertEqual(try TreeStore(path: tree, create: false).installedAccounts().map(\.name), ["Backup"])
    }

    func testCPAndDMAccountsAreInstalledTogether() throws {
        let report = try provision("cp-and-dm")
        XCTAssertEqual(Set(report.install.added), ["cp-dm-server", "Backup"])
    }

    /// A per-card tree lies directly in --tree-dir whatever the identity holds:
    /// "\u{0D4E}/" is one Character that is a letter, and kept whole it put a
    /// "/" into the file name.
    func testAPerCardTreeLiesDirectlyInItsFolder() {
        let location = Provisioner.TreeLocation.perCard(directory: "trees")
        XCTAssertEqual(location.path(for: "pkcs15:0001"), "trees/pkcs15-0001.sqlite")
        XCTAssertEqual(location.path(for: "iccid:\u{0D4E}/../x"), "trees/iccid-\u{0D4E}----x.sqlite")
        XCTAssertEqual(Provisioner.TreeLocation.perCard(directory: "t").path(for: "a"), "t/a.sqlite")
    }

    func testADryRunOnANewTreeCreatesNoFile() throws {
        let report = try provision("two-dm", dryRun: true)
        XCTAssertEqual(report.install.added.count, 2)
        XCTAssertNil(treeBytes())
    }

    func testPolicyRefusalsTouchNeitherCardNorTree() throws {
        _ = try provision("one-dm")
        let before = treeBytes()
        XCTAssertThrowsError(try provision("two-dm", policy: ProvisioningPolicy(smartcardBootstrap: false))) {
            XCTAssertEqual($0 as? PolicyError, .smartcardBootstrapDisabled)
        }
        XCTAssertThrowsError(try provision("two-dm", level: 0x13)) {
            XCTAssertEqual($0 as? PolicyError, .levelBelowMinimum(requested: "13", minimum: "33"))
        }
        XCTAssertThrowsError(try provision("two-dm", policy: ProvisioningPolicy(allowedServers: ["backup-*"]))) {
            XCTAssertEqual($0 as? PolicyError, .serversNotAllowed(["dmboot-demo-server"]))
        }
        XCTAssertEqual(treeBytes(), before)
    }

    func testACardPulledAtAnyPointLeavesTheTreeUntouched() throws {
        _ = try provision("one-dm")
        let before = treeBytes()
        for removeAfter in [0, 1, 2, 3, 5, 8, 12, 20, 25] {
            XCTAssertThrowsError(try provision("two-dm", removeAfter: removeAfter), "after \(removeAfter)") { error in
                XCTAssertEqual(error as? PCSCError, .cardRemoved(reader: "in-process"), "\(error)")
            }
            XCTAssertEqual(treeBytes(), before, "pulled after \(removeAfter) APDUs")
        }
    }

    /// A pseudo-random challenge from another AID only warns by default
    /// (GlobalPlatformPro GPSession logs it and goes on); a strict policy
    /// refuses the card in the handshake, before EXTERNAL AUTHENTICATE and
    /// before the tree is touched.
    func testAStrictPolicyRefusesAChallengeMismatchThatOtherwiseOnlyWarns() throws {
        func provision(strict: Bool) throws -> (Provisioner.Report, VirtualCard) {
            let card = try VirtualCard(profile: BuiltInProfiles.demo)
            card.faults.challengeFromAnotherApplication = true
            let domain = BuiltInProfiles.demoSecurityDomain
            let reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac,
                                                                 dek: domain.dek, mode: nil, source: "test").0)
            let report = try Provisioner(reader: reader, policy: ProvisioningPolicy(strict: strict), tree: .file(tree))
                .provision(over: ISO7816Channel(link: Link(card)), atr: card.atr)
            return (report, card)
        }
        let (report, _) = try provision(strict: false)
        XCTAssertEqual(report.card.handshake?.pseudoRandomChallenge, .mismatch)
        XCTAssertTrue(report.card.warnings.contains { $0.contains("pseudo-random challenge does not match") }, "\(report.card.warnings)")
        try FileManager.default.removeItem(atPath: tree)
        XCTAssertThrowsError(try provision(strict: true)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardChallengeMismatch)
        }
        XCTAssertNil(treeBytes())
    }

    func testBrokenCardsFailBeforeTheTree() throws {
        XCTAssertThrowsError(try provision("no-dm")) { XCTAssertEqual($0 as? PKCS15Error, .noBootstrapObject) }
        XCTAssertThrowsError(try provision("short-file"))
        XCTAssertNil(treeBytes())
    }

    func testPolicyFilesParseAndMatchServers() throws {
        let path = folder.appendingPathComponent("policy.json").path
        try Data(#"{"minimumLevel": "13", "allowedServers": ["*.example.com", "backup-dm"]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let policy = try ProvisioningPolicy.load(path: path)
        XCTAssertTrue(policy.smartcardBootstrap)
        XCTAssertEqual(policy.refusedServers(["dm.example.com", "backup-dm", "evil.example.org"]), ["evil.example.org"])
        XCTAssertNoThrow(try policy.checkRead(level: try SecurityLevel(0x33)))
        XCTAssertThrowsError(try policy.checkRead(level: nil)) { XCTAssertEqual($0 as? PolicyError, .unprotectedReadRefused) }
        try Data(#"{"minimumLevel": "77"}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ProvisioningPolicy.load(path: path)) { error in
            guard case .malformed? = error as? PolicyError else { return XCTFail("\(error)") }
        }
    }
}
