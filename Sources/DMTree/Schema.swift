/// The tree file's schema and its migrations. `application_id` marks the
/// file as a dmboot tree; `user_version` is the schema version. A migration
/// runs inside the transaction that records its version, so a crash leaves
/// either the old schema or the new one.
enum Schema {
    /// "DMBT".
    static let applicationID: Int64 = 0x444D_4254

    static let migrations: [String] = [
        // 1: nodes with format, type, ACL and exact bytes; accounts with provenance.
        """
        CREATE TABLE node (
            path TEXT PRIMARY KEY NOT NULL,
            format TEXT NOT NULL,
            type TEXT,
            acl TEXT NOT NULL,
            value BLOB
        );
        CREATE TABLE account (
            name TEXT PRIMARY KEY NOT NULL,
            server_id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL CHECK (source IN ('smartcard', 'push', 'manual')),
            card_identity TEXT,
            document TEXT,
            installed_at TEXT NOT NULL,
            digest TEXT NOT NULL
        );
        """,
    ]

    static var currentVersion: Int { migrations.count }

    static func migrate(_ database: SQLiteDatabase) throws {
        let id = try database.query("PRAGMA application_id").first?.first?.integer ?? 0
        let version = Int(try database.query("PRAGMA user_version").first?.first?.integer ?? 0)
        let tables = try database.query("SELECT count(*) FROM sqlite_master").first?.first?.integer ?? 0
        if id == 0 && version == 0 && tables > 0 { throw TreeStoreError.notATreeStore(path: database.path) }
        if id != 0 && id != applicationID { throw TreeStoreError.notATreeStore(path: database.path) }
        guard version <= currentVersion else { throw TreeStoreError.newerSchema(path: database.path, version: version) }
        guard version < currentVersion else { return }
        try database.transaction {
            if version == 0 { try database.execute("PRAGMA application_id = \(applicationID)") }
            for step in version..<currentVersion {
                try database.execute(migrations[step])
            }
            try database.execute("PRAGMA user_version = \(currentVersion)")
        }
    }
}
