import CardCrypto
import DMBootstrap
import Foundation

/// Where an installed account came from, kept beside it for audits and for
/// the prune that OMA DM's smartcard bootstrap requires.
public struct Provenance: Equatable, Sendable {
    public enum Source: String, Sendable, CaseIterable {
        case smartcard, push, manual
    }

    public var source: Source
    /// The card an account came from: "pkcs15:<TokenInfo serial>" or "iccid:<ICCID>".
    public var cardIdentity: String?
    /// The document it came from (PKCS#15 object label, file name).
    public var document: String?
    public var time: Date

    public init(source: Source, cardIdentity: String? = nil, document: String? = nil, time: Date = Date()) {
        self.source = source
        self.cardIdentity = cardIdentity
        self.document = document
        self.time = time
    }
}

/// An account as the tree holds it.
public struct InstalledAccount: Equatable, Sendable {
    public let name: String
    public let serverID: String
    public let provenance: Provenance
    public let digest: String
}

/// What an install did (or, in a dry run, would do).
public struct InstallReport: Equatable, Sendable {
    public var added: [String] = []
    public var replaced: [String] = []
    public var unchanged: [String] = []
    public var removed: [String] = []

    public var changesTree: Bool { !(added.isEmpty && replaced.isEmpty && removed.isEmpty) }
}

/// A node as the tree holds it.
public struct StoredNode: Equatable, Sendable {
    public let path: String
    public let format: NodeFormat
    public let type: String?
    public let acl: String
    public let value: [UInt8]?

    /// Whether the node may be shown without --reveal-secrets. A credential
    /// (AAuthSecret, ClientSecretKey...) never is, by its name, whatever its
    /// ACL says: the ACL holds a ServerID that came from a document, and a tree
    /// written before ServerIDs were checked may hold `Replace=evil&Get=*`.
    /// Any other node is readable when its ACL, read by the TND grammar,
    /// grants Get; an ACL that breaks the grammar grants nothing.
    public var isReadable: Bool {
        guard !DMNode(path: path, format: format, value: nil).isSecret else { return false }
        return DMACL(parsing: acl)?.grants(.get) ?? false
    }
}

/// The local DM tree: one SQLite file. Every change is one transaction.
public final class TreeStore {
    public static let accountRoot = "./DMAcc"
    let database: SQLiteDatabase
    public var path: String { database.path }

    /// Opens the tree at `path`; `create` makes it (mode 0600) when missing.
    public init(path: String, create: Bool, busyTimeout: Double = 5) throws {
        database = try SQLiteDatabase(path: path, create: create, busyTimeout: busyTimeout)
        try database.execute("PRAGMA journal_mode = DELETE")
        try database.execute("PRAGMA synchronous = FULL")
        try Schema.migrate(database)
        let check = try database.query("PRAGMA quick_check").first?.first?.text
        guard check == "ok" else { throw TreeStoreError.corrupt(path: path, reason: check ?? "integrity check failed") }
    }

    // MARK: Install and prune

    /// Creates or replaces ./DMAcc/<x> for each account and, with `prune`,
    /// removes every account an earlier run took from a smartcard that is not
    /// in `accounts` (OMA DM 8.1) — all in one transaction. An account whose
    /// ServerID another account already holds replaces that one. With
    /// `dryRun` the transaction is rolled back: the file stays as it was.
    public func install(_ accounts: [DMAccount], provenance: Provenance, prune: Bool, dryRun: Bool = false) throws -> InstallReport {
        // The last gate on every way in: a name TND does not allow would make the tree unexportable or alias another account.
        let badNames = accounts.flatMap(AccountValidator.nameProblems(in:))
        guard badNames.isEmpty else { throw BootstrapError.invalidAccounts(badNames) }
        try database.execute("BEGIN IMMEDIATE")
        do {
            let report = try apply(accounts, provenance: provenance, prune: prune)
            try database.execute(report.changesTree && !dryRun ? "COMMIT" : "ROLLBACK")
            return report
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
    }

    private func apply(_ accounts: [DMAccount], provenance: Provenance, prune: Bool) throws -> InstallReport {
        var report = InstallReport()
        let existing = try installedAccounts()
        try ensureNode(Self.accountRoot, acl: DMACL(granting: [.get], to: .anyServer))
        for account in accounts {
            // The other last gate, inside the transaction: a ServerID the ACL grammar does not allow would write ACL entries of its own.
            guard let serverID = account.serverID, let server = DMACL.ServerIdentifier(serverID) else {
                throw BootstrapError.invalidAccounts(AccountValidator.serverIDProblems(in: account))
            }
            let digest = Self.digest(account)
            if let same = existing.first(where: { $0.name == account.name }), same.digest == digest,
               same.provenance.source == provenance.source, same.provenance.cardIdentity == provenance.cardIdentity {
                report.unchanged.append(account.name)
                continue
            }
            var replacing = existing.contains { $0.name == account.name }
            for holder in existing where holder.serverID == serverID && holder.name != account.name {
                try deleteAccount(holder.name)
                replacing = true
            }
            try deleteAccount(account.name)
            try write(account, server: server, provenance: provenance, digest: digest)
            if replacing { report.replaced.append(account.name) } else { report.added.append(account.name) }
        }
        if prune {
            let kept = Set(accounts.map(\.name))
            for stale in try installedAccounts() where stale.provenance.source == .smartcard && !kept.contains(stale.name) {
                try deleteAccount(stale.name)
                report.removed.append(stale.name)
            }
        }
        return report
    }

    private func write(_ account: DMAccount, server: DMACL.ServerIdentifier, provenance: Provenance, digest: String) throws {
        let root = "\(Self.accountRoot)/\(account.name)"
        try insertNode(StoredNode(path: root, format: .node, type: nil,
                                  acl: DMACL(granting: [.add, .delete, .get, .replace], to: server).description, value: nil))
        for node in account.nodes {
            let acl = DMACL(granting: node.isSecret ? [.replace] : [.get, .replace], to: server)
            try insertNode(StoredNode(path: "\(root)/\(node.path)", format: node.format, type: node.type, acl: acl.description,
                                      value: node.value))
        }
        try database.query("""
            INSERT INTO account (name, server_id, source, card_identity, document, installed_at, digest)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.text(account.name), .text(server.text), .text(provenance.source.rawValue),
                  provenance.cardIdentity.map(SQLiteValue.text) ?? .null, provenance.document.map(SQLiteValue.text) ?? .null,
                  .text(ISO8601DateFormatter().string(from: provenance.time)), .text(digest)])
    }

    private func ensureNode(_ path: String, acl: DMACL) throws {
        try database.query("INSERT OR IGNORE INTO node (path, format, acl) VALUES (?, 'node', ?)", [.text(path), .text(acl.description)])
    }

    private func insertNode(_ node: StoredNode) throws {
        try database.query("INSERT INTO node (path, format, type, acl, value) VALUES (?, ?, ?, ?, ?)", [
            .text(node.path), .text(node.format.rawValue), node.type.map(SQLiteValue.text) ?? .null, .text(node.acl),
            node.value.map(SQLiteValue.blob) ?? .null,
        ])
    }

    /// A node and everything under it, compared byte for byte. SQLite's
    /// substr() on text counts code points and Swift's count counts
    /// characters: for a decomposed "é" they differ, and a prefix compare
    /// built from one with the other leaves the children behind.
    static let subtree = "path = ? OR substr(CAST(path AS BLOB), 1, ?) = ?"

    static func subtreeBindings(_ path: String) -> [SQLiteValue] {
        let prefix = Array((path + "/").utf8)
        return [.text(path), .integer(Int64(prefix.count)), .blob(prefix)]
    }

    private func deleteAccount(_ name: String) throws {
        let root = "\(Self.accountRoot)/\(name)"
        try database.query("DELETE FROM node WHERE \(Self.subtree)", Self.subtreeBindings(root))
        try database.query("DELETE FROM account WHERE name = ?", [.text(name)])
    }

    /// A digest of an account's nodes, so a second install of the same card is seen as no change.
    static func digest(_ account: DMAccount) -> String {
        var canonical: [UInt8] = []
        for node in account.nodes {
            canonical += Array("\(node.path)\u{0}\(node.format.rawValue)\u{0}\(node.type ?? "")\u{0}".utf8)
            canonical += node.value.map { [1] + $0 } ?? [0]
            canonical.append(0x0A)
        }
        return ((try? Hash.digest(.sha256, canonical)) ?? []).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Reading

    public func installedAccounts() throws -> [InstalledAccount] {
        try database.query("""
            SELECT name, server_id, source, card_identity, document, installed_at, digest FROM account ORDER BY name
            """).map { row in
            InstalledAccount(
                name: row[0].text ?? "", serverID: row[1].text ?? "",
                provenance: Provenance(source: Provenance.Source(rawValue: row[2].text ?? "") ?? .manual,
                                       cardIdentity: row[3].text, document: row[4].text,
                                       time: ISO8601DateFormatter().date(from: row[5].text ?? "") ?? Date(timeIntervalSince1970: 0)),
                digest: row[6].text ?? "")
        }
    }

    /// Every node at or below `path`, in path order.
    public func nodes(under path: String = ".") throws -> [StoredNode] {
        let normalised = try Self.normalise(path)
        let rows = normalised == "."
            ? try database.query("SELECT path, format, type, acl, value FROM node ORDER BY path")
            : try database.query("""
                SELECT path, format, type, acl, value FROM node WHERE \(Self.subtree) ORDER BY path
                """, Self.subtreeBindings(normalised))
        return rows.map { row in
            StoredNode(path: row[0].text ?? "", format: NodeFormat(rawValue: row[1].text ?? "") ?? .chr,
                       type: row[2].text, acl: row[3].text ?? "", value: row[4] == .null ? nil : row[4].blob)
        }
    }

    public func node(at path: String) throws -> StoredNode {
        let normalised = try Self.normalise(path)
        // Byte-exact, as SQLite compares: Swift's == would take a precomposed "é" for a decomposed one.
        guard let node = try nodes(under: normalised).first(where: { $0.path.utf8.elementsEqual(normalised.utf8) }) else {
            throw TreeStoreError.noSuchNode(normalised)
        }
        return node
    }

    /// Deletes a node and everything under it, and the account record of an account root.
    public func delete(_ path: String) throws -> Int {
        let normalised = try Self.normalise(path)
        guard normalised != "." && normalised != Self.accountRoot else { throw TreeStoreError.invalidPath(path) }
        return try database.transaction {
            let count = try nodes(under: normalised).count
            guard count > 0 else { throw TreeStoreError.noSuchNode(normalised) }
            try database.query("DELETE FROM node WHERE \(Self.subtree)", Self.subtreeBindings(normalised))
            let parts = normalised.split(separator: "/")
            if parts.count == 3 && "./\(parts[1])" == Self.accountRoot {
                try database.query("DELETE FROM account WHERE name = ?", [.text(String(parts[2]))])
            }
            return count
        }
    }

    /// The accounts the tree holds, rebuilt as `DMAccount`s (for export).
    public func accounts() throws -> [(DMAccount, InstalledAccount)] {
        try installedAccounts().map { installed in
            let root = "\(Self.accountRoot)/\(installed.name)"
            let nodes = try nodes(under: root).filter { $0.path != root }.map { stored in
                DMNode(path: String(stored.path.dropFirst(root.count + 1)), format: stored.format, type: stored.type,
                       value: stored.value)
            }
            return (DMAccount(name: installed.name, source: .tnds, nodes: nodes), installed)
        }
    }

    /// "DMAcc/x", "./DMAcc/x/" → "./DMAcc/x"; "." is the root.
    static func normalise(_ path: String) throws -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.first == "." { parts.removeFirst() }
        guard !parts.contains(where: { $0 == "." || $0 == ".." }) else { throw TreeStoreError.invalidPath(path) }
        return parts.isEmpty ? "." : "./" + parts.joined(separator: "/")
    }
}
