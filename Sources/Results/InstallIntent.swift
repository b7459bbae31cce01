import Foundation

/// An install about to happen, kept in the spool folder as
/// `<record id>.intent` from before the tree's commit until the card's record
/// is stored or spooled (issue 25 item 2). A station killed in between leaves
/// it, and the next start (or `results flush`) settles the card's record
/// from it: provisioned when the tree shows the install committed, failed
/// with the card's identity otherwise. A card is never installed without a
/// trace of it on disk.
public struct InstallIntent: Codable, Sendable, Equatable {
    /// The card's record should the install complete: its identity, station,
    /// run and accounts. Its record id is the one the finished record gets,
    /// so a record that did reach the database is not stored twice.
    public var record: ResultRecord
    /// The tree the accounts go into.
    public var tree: String
    /// The provenance time the install writes beside the accounts.
    public var installTime: Date
    /// The process installing: an intent of a process still running is its own to finish.
    public var pid: Int32

    public init(record: ResultRecord, tree: String, installTime: Date, pid: Int32 = getpid()) {
        self.record = record
        self.tree = tree
        self.installTime = installTime
        self.pid = pid
    }

    static func name(of id: UUID) -> String { id.uuidString.lowercased() + ".intent" }
}

extension ResultSpool {
    /// Writes `intent` durably before the install it announces.
    public func writeIntent(_ intent: InstallIntent) throws {
        try writeFile(try ResultRecord.encoder.encode(intent), name: InstallIntent.name(of: intent.record.recordID))
    }

    /// Drops the intent once the card's record is safe (stored or spooled).
    public func removeIntent(_ id: UUID) throws {
        let path = (directory as NSString).appendingPathComponent(InstallIntent.name(of: id))
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SpoolError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// The intents left in the spool folder, oldest first. A file that does
    /// not read as one is set aside as `<name>.unreadable`, never deleted.
    public func intents() throws -> (intents: [InstallIntent], unreadable: [String]) {
        let (intents, unreadable) = try decodeFiles(suffix: ".intent", as: InstallIntent.self)
        return (intents.sorted { ($0.record.time, $0.record.recordID.uuidString) < ($1.record.time, $1.record.recordID.uuidString) },
                unreadable)
    }
}
