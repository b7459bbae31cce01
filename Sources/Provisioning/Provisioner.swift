import APDU
import CardSession
import CardTransport
import DMBootstrap
import DMTree
import Foundation
import LocalFiles
import PKCS15
import SecureChannel

/// The main job: read the card, decode and check every bootstrap, and only
/// then install all accounts and prune stale smartcard accounts in one
/// transaction. Any failure before the commit leaves the tree as it was.
public struct Provisioner: Sendable {
    /// Where the accounts go: one tree, or one tree per card (a factory
    /// station provisions many devices, and the prune of OMA DM 8.1 is about
    /// one device's tree).
    public enum TreeLocation: Sendable {
        case file(String)
        case perCard(directory: String)

        /// The tree for the card `identity`: <directory>/<identity>.sqlite for per-card trees.
        /// Scalar by scalar: a Character that is a letter can still hold a "/"
        /// (a prepended mark such as U+0D4E before it makes one grapheme).
        public func path(for identity: String) -> String {
            switch self {
            case .file(let path): return path
            case .perCard(let directory):
                var name = String.UnicodeScalarView()
                for scalar in identity.unicodeScalars {
                    let kept = scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "-"
                    name.append(kept ? scalar : "-")
                }
                return PathText.joining(directory, String(name) + ".sqlite")
            }
        }
    }

    public var reader: BootstrapReader
    public var policy: ProvisioningPolicy
    public var tree: TreeLocation
    public var busyTimeout: Double = 5
    public var dryRun = false
    /// Asked after the card was read, identified and checked, before
    /// anything is installed; not asked on a dry run, which installs nothing.
    public var admission: (any CardAdmission)?
    /// Told the card's ICCID, PKCS#15 serial and identity as soon as they are
    /// read, so that a card failing later is still logged by what it is.
    public var onIdentified: (@Sendable (_ iccid: String?, _ pkcs15Serial: String?, _ cardIdentity: String) -> Void)?

    public init(reader: BootstrapReader, policy: ProvisioningPolicy, tree: TreeLocation) {
        self.reader = reader
        self.policy = policy
        self.tree = tree
    }

    public struct Report {
        public let card: BootstrapReader.Result
        public let cardIdentity: String
        public let treePath: String
        public let accounts: [DMAccount]
        /// What the specifications leave open and this bootstrap does (installed, since the policy is not strict).
        public let warnings: [AccountProblem]
        public let install: InstallReport
        public let dryRun: Bool
        public let duration: Duration
    }

    public func provision(over channel: ISO7816Channel, atr: [UInt8]) throws -> Report {
        let started = ContinuousClock.now
        try policy.checkRead(level: reader.keySource == nil ? nil : reader.level)
        var reader = self.reader
        // A strict policy refuses what the card only warns about, from the handshake on.
        if policy.strict { reader.requiresChallengeMatch = true }
        if let onIdentified {
            reader.onICCID = { iccid in onIdentified(iccid.digits, nil, CardIdentity(iccid: iccid.digits).reference) }
        }
        let card = try reader.read(over: channel, atr: atr)
        onIdentified?(card.iccid?.digits, card.contents.tokenInfo.serialHex, card.identity.reference)
        let objects = card.contents.bootstrapObjects
        guard objects.contains(where: { $0.kind == .dm }) else { throw PKCS15Error.noBootstrapObject }
        var accounts: [DMAccount] = []
        for object in objects {
            let decoded = try BootstrapDecoder().decode(object.content)
            // A CP document may carry other applications; only its w7 accounts count.
            if object.kind == .cp && decoded.accounts.isEmpty { continue }
            accounts += decoded.accounts
        }
        let validation = DecodedBootstrap(encoding: .wbxml, documentType: .syncML, publicID: nil, accounts: accounts,
                                          otherNodes: [], ignoredCommands: [])
        let warnings = try AccountValidator().validate(validation, strict: policy.strict)
        let refused = policy.refusedServers(accounts.compactMap(\.serverID))
        guard refused.isEmpty else { throw PolicyError.serversNotAllowed(refused) }
        // EF.ICCID when the card has one: a TokenInfo serial may be empty or
        // the same on every card of a batch.
        let identity = card.identity.reference
        // Whole seconds, as the tree stores it, so that a crash recovery can find this very install.
        let installTime = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let provenance = Provenance(source: .smartcard, cardIdentity: identity,
                                    document: objects.compactMap(\.label).joined(separator: "; "), time: installTime)
        let path = tree.path(for: identity)
        if !dryRun, let admission {
            try admission.admit(AdmissionRequest(cardIdentity: identity, pkcs15Serial: card.contents.tokenInfo.serialHex,
                                                 keyVersion: card.handshake?.initializeUpdate.keyVersion,
                                                 accounts: accounts.map(\.name), treePath: path, installTime: installTime))
        }
        if case .perCard(let directory) = tree {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let install = try TreeInstaller(path: path, busyTimeout: busyTimeout)
            .install(accounts, provenance: provenance, prune: true, dryRun: dryRun)
        return Report(card: card, cardIdentity: identity, treePath: path, accounts: accounts, warnings: warnings,
                      install: install, dryRun: dryRun, duration: ContinuousClock.now - started)
    }
}

/// Installs into a tree file, creating it atomically: a tree that does not
/// exist yet is built beside its final path and renamed into place after
/// the commit, so a failed first install leaves no file at all.
public struct TreeInstaller {
    public let path: String
    public let busyTimeout: Double

    public init(path: String, busyTimeout: Double) {
        self.path = path
        self.busyTimeout = busyTimeout
    }

    public func install(_ accounts: [DMAccount], provenance: Provenance, prune: Bool, dryRun: Bool) throws -> InstallReport {
        StaleBuildFiles(treePath: path).removeAll()
        if FileManager.default.fileExists(atPath: path) {
            return try TreeStore(path: path, create: false, busyTimeout: busyTimeout)
                .install(accounts, provenance: provenance, prune: prune, dryRun: dryRun)
        }
        let building = path + ".new-\(getpid())"
        defer { unlink(building) }
        let report = try TreeStore(path: building, create: true, busyTimeout: busyTimeout)
            .install(accounts, provenance: provenance, prune: prune, dryRun: dryRun)
        guard !dryRun else { return report }
        // link() refuses an existing name: when another dmboot created the
        // tree meanwhile, install into that one instead of replacing it.
        if link(building, path) == 0 { return report }
        guard errno == EEXIST else { throw TreeStoreError.io(path: path, reason: String(cString: strerror(errno))) }
        return try TreeStore(path: path, create: false, busyTimeout: busyTimeout)
            .install(accounts, provenance: provenance, prune: prune, dryRun: false)
    }
}

/// Whether an install whose process died committed: the tree at its final
/// path holds accounts of the card with the install's provenance time.
/// Used to settle a record left unfinished by a crash (issue 25 item 2).
public enum InstallCheck {
    public static func committed(tree path: String, cardIdentity: String, installTime: Date,
                                 busyTimeout: Double) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let second = Int(installTime.timeIntervalSince1970.rounded(.down))
        return try TreeStore(path: path, create: false, busyTimeout: busyTimeout).installedAccounts().contains { account in
            account.provenance.cardIdentity == cardIdentity
                && Int(account.provenance.time.timeIntervalSince1970.rounded(.down)) == second
        }
    }
}

/// What a first install killed before its rename leaves beside the tree:
/// "<tree>.new-<pid>" and its SQLite journal. Only files whose process is
/// gone are removed; a live process may still be building its tree. The
/// folder is swept, not only this tree's name: with one tree per card, the
/// card whose build was killed may never come back (issue 25 item 3), so
/// every "<name>.sqlite.new-<pid>" there is another card's leftover.
public struct StaleBuildFiles {
    public let treePath: String

    public init(treePath: String) {
        self.treePath = treePath
    }

    /// The stale files, by name, in the tree's folder.
    public func names() -> [String] {
        let tree = URL(fileURLWithPath: treePath)
        let own = tree.lastPathComponent + ".new-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tree.deletingLastPathComponent().path)) ?? []
        return names.filter { name in
            guard let marker = name.range(of: ".new-", options: .backwards) else { return false }
            let built = name[..<marker.upperBound]
            guard built == own || built.hasSuffix(".sqlite.new-") else { return false }
            let rest = name[marker.upperBound...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard ["", "-journal", "-wal", "-shm"].contains(rest.dropFirst(digits.count)),
                  let pid = pid_t(digits), pid > 0 else { return false }
            return !LiveProcess.isRunning(pid)
        }.sorted()
    }

    /// Removes the stale files; what cannot be removed stays for the next install to try.
    @discardableResult
    public func removeAll() -> [String] {
        let folder = URL(fileURLWithPath: treePath).deletingLastPathComponent()
        return names().filter { unlink(folder.appendingPathComponent($0).path) == 0 }
    }

}

/// Whether the process that left a file behind still runs.
public enum LiveProcess {
    /// kill(pid, 0) delivers nothing; it only says whether the process exists
    /// (EPERM: it exists, owned by someone else).
    public static func isRunning(_ pid: pid_t) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
    }
}
