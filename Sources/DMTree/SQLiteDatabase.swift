import CSQLite
import Foundation
import LocalFiles

/// A thin, typed face over one SQLite connection. Every failure becomes a
/// `TreeStoreError` that says what happened to which file.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// Opens (or, when `create`, creates with mode 0600) the database file.
    init(path: String, create: Bool, busyTimeout: Double) throws {
        self.path = path
        if create && !FileManager.default.fileExists(atPath: path) {
            let directory = PathText.folder(of: path)
            if !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                         attributes: [.posixPermissions: 0o700])
            }
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor < 0 && errno != EEXIST {
                throw TreeStoreError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            if descriptor >= 0 { close(descriptor) }
        } else if !FileManager.default.fileExists(atPath: path) {
            throw TreeStoreError.missing(path: path)
        }
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw TreeStoreError.cannotOpen(path: path, reason: reason)
        }
        // Callers validate the timeout; a value a timer cannot take still must not trap here.
        let milliseconds = busyTimeout.isFinite ? min(max(busyTimeout * 1000, 0), Double(Int32.max)) : Double(Int32.max)
        sqlite3_busy_timeout(handle, Int32(milliseconds))
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw error(code, message.map { String(cString: $0) } ?? "")
        }
    }

    /// Runs `sql` with `bindings` and returns every row as values.
    @discardableResult
    func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard prepared == SQLITE_OK else { throw error(prepared, String(cString: sqlite3_errmsg(handle))) }
        defer { sqlite3_finalize(statement) }
        for (index, value) in bindings.enumerated() {
            let position = Int32(index + 1)
            let bound: Int32
            switch value {
            case .null: bound = sqlite3_bind_null(statement, position)
            case .integer(let number): bound = sqlite3_bind_int64(statement, position, number)
            case .text(let text):
                bound = sqlite3_bind_text(statement, position, text, Int32(text.utf8.count), csqlite_transient())
            case .blob(let bytes):
                // A zero-length blob, not NULL, for an empty value.
                bound = bytes.isEmpty
                    ? sqlite3_bind_zeroblob(statement, position, 0)
                    : bytes.withUnsafeBytes { buffer in
                        sqlite3_bind_blob(statement, position, buffer.baseAddress, Int32(bytes.count), csqlite_transient())
                    }
            }
            guard bound == SQLITE_OK else { throw error(bound, String(cString: sqlite3_errmsg(handle))) }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw error(step, String(cString: sqlite3_errmsg(handle))) }
            var row: [SQLiteValue] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_TEXT:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    let text = sqlite3_column_text(statement, column)
                    row.append(.text(String(decoding: UnsafeBufferPointer(start: text, count: text == nil ? 0 : count),
                                            as: UTF8.self)))
                default:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    let pointer = sqlite3_column_blob(statement, column)
                    row.append(.blob(pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in one IMMEDIATE transaction: all of it lands, or none.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func error(_ code: Int32, _ message: String) -> TreeStoreError {
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(path: path)
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt(path: path, reason: message)
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN: return .cannotOpen(path: path, reason: message)
        case SQLITE_FULL, SQLITE_IOERR: return .io(path: path, reason: message)
        default: return .sqlite(path: path, reason: message)
        }
    }
}

enum SQLiteValue: Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    var text: String? { if case .text(let value) = self { return value } else { return nil } }
    var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }
    var blob: [UInt8]? {
        switch self {
        case .blob(let bytes): return bytes
        case .text(let text): return Array(text.utf8)
        default: return nil
        }
    }
}

/// What can go wrong with a tree file.
public enum TreeStoreError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case cannotOpen(path: String, reason: String)
    case busy(path: String)
    case corrupt(path: String, reason: String)
    case notATreeStore(path: String)
    case newerSchema(path: String, version: Int)
    case io(path: String, reason: String)
    case sqlite(path: String, reason: String)
    case noSuchNode(String)
    case secretNode(String)
    case invalidPath(String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "no DM tree at \(path); it is created by the first provision or import"
        case .cannotOpen(let path, let reason):
            return "cannot open the DM tree \(path): \(reason)"
        case .busy(let path):
            return "the DM tree \(path) stayed locked by another dmboot past the busy timeout; nothing was written, try again"
        case .corrupt(let path, let reason):
            return "the DM tree \(path) is corrupt (\(reason)); restore it from a backup or an export, nothing was written"
        case .notATreeStore(let path):
            return "\(path) is an SQLite file but not a dmboot DM tree; nothing was written"
        case .newerSchema(let path, let version):
            return "the DM tree \(path) has schema version \(version), newer than this dmboot knows; use a newer dmboot"
        case .io(let path, let reason):
            return "writing the DM tree \(path) failed: \(reason); the transaction was rolled back"
        case .sqlite(let path, let reason):
            return "the DM tree \(path): \(reason)"
        case .noSuchNode(let path):
            return "no node \(path) in the DM tree"
        case .secretNode(let path):
            return "\(path) is a secret node (its ACL has no Get); add --reveal-secrets to show it"
        case .invalidPath(let path):
            return "\"\(path)\" is not a DM tree path such as ./DMAcc/<name>/ServerID"
        }
    }
}
