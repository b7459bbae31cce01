import CLibPQ
import ExitContract
import Foundation
import Synchronization

/// What went wrong talking to the results database, split the way a station
/// must react: an outage is spooled around, a refusal is a fact about the data.
public enum ResultsDatabaseError: Error, Equatable, CustomStringConvertible {
    /// The server cannot be reached, or the connection broke (the server went
    /// away, restarted, or ran out of connections). Retried later.
    case unavailable(server: String, reason: String)
    /// The server answered with an error: `sqlState` is PostgreSQL's code,
    /// `constraint` the constraint a violation names.
    case refused(sqlState: String, constraint: String?, message: String)
    /// The URL is not a libpq connection URL (the reason never holds a credential).
    case invalidURL(String)
    /// The URL's password and a password file were both given.
    case passwordGivenTwice
    /// The database was migrated by a newer dmboot; this one does not know its tables.
    case newerSchema(found: Int, known: Int)

    public var description: String {
        switch self {
        case .unavailable(let server, let reason):
            return "the results database \(server) is unreachable: \(reason)"
        case .refused(let state, let constraint, let message):
            return "the results database refused a statement (SQLSTATE \(state)\(constraint.map { ", constraint \($0)" } ?? "")): \(message)"
        case .invalidURL(let reason):
            return "--results takes a postgresql:// URL (libpq): \(reason)"
        case .passwordGivenTwice:
            return "the results URL has a password and --results-password-file gives one too: give it once, in the file"
        case .newerSchema(let found, let known):
            return "the results database has schema version \(found), newer than this dmboot's \(known): upgrade dmboot"
        }
    }

    /// Whether the station should spool and retry rather than treat this as an answer.
    public var isOutage: Bool {
        switch self {
        case .unavailable: return true
        case .refused(let state, _, _):
            // Class 08 connection exceptions, 53 insufficient resources
            // (too many connections, disk full), 57P operator intervention
            // (shutdown, crash recovery): all pass when the server is back.
            return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
        case .invalidURL, .passwordGivenTwice, .newerSchema: return false
        }
    }
}

/// The rows of one statement, as PostgreSQL's text format gives them.
public struct QueryRows: Sendable {
    public let columns: [String]
    public let rows: [[String?]]

    public func value(_ row: Int, _ column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}

/// libpq's functions, loaded on the first connection (CLibPQ's shim says why).
enum LibPQ {
    static let loaded: Result<clibpq_functions, LibraryMissing> = {
        var functions = clibpq_functions()
        if let failure = clibpq_load(&functions) {
            return .failure(LibraryMissing(library: "libpq.so.5", package: "libpq5", reason: String(cString: failure)))
        }
        return .success(functions)
    }()
}

/// One libpq connection. A lock serializes its calls, so a connection may
/// pass from one card thread to the next (libpq connections are not to be
/// used by two threads at once).
public final class PostgresConnection: Sendable {
    private let pq: clibpq_functions
    private let handle: Mutex<OpaquePointer?>
    /// The server as shown in messages: the URL without its credentials.
    public let server: String
    /// Takes the credentials out of every message libpq or the server gives.
    private let redactor: CredentialRedactor

    /// Connects with libpq. A connect timeout of `connectTimeout` seconds
    /// applies unless the URL sets its own `connect_timeout`. `password`
    /// (from --results-password-file) is libpq's password key word; without
    /// it and without one in the URL, libpq reads ~/.pgpass or $PGPASSFILE.
    public init(url: String, password: String? = nil, connectTimeout: Int = 5) throws {
        redactor = CredentialRedactor(url: url, password: password)
        server = redactor.redact(url)
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
            // Not echoed: a keyword string ("host=... password=...") is not a URL to cut secrets from.
            throw ResultsDatabaseError.invalidURL("the value given does not start with postgresql://")
        }
        guard !redactor.passwordHoldsAt else {
            throw ResultsDatabaseError.invalidURL("the password holds an unencoded \"@\" (libpq would take the rest for the host): "
                                                  + "write it as %40, or give it with --results-password-file or ~/.pgpass")
        }
        if password != nil && redactor.urlHasPassword { throw ResultsDatabaseError.passwordGivenTwice }
        let pq = try LibPQ.loaded.get()
        self.pq = pq
        // libpq's own parser first: a URL it cannot take is a usage error, not an outage.
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = pq.conninfoParse(url, &parseError) else {
            let reason = parseError.map { String(cString: $0) } ?? "out of memory"
            parseError.map { pq.freemem($0) }
            throw ResultsDatabaseError.invalidURL(redactor.redact(Self.message(reason)))
        }
        pq.conninfoFree(options)
        // Later key words win: the URL's own settings override the default timeout.
        let keywords = ["connect_timeout"] + (password == nil ? [] : ["password"]) + ["dbname"]
        let values = ["\(connectTimeout)"] + (password.map { [$0] } ?? []) + [url]
        let connection = Self.withCStrings(keywords) { keys in
            Self.withCStrings(values) { values in pq.connectdbParams(keys, values, 1) }
        }
        guard let connection else { throw ResultsDatabaseError.unavailable(server: server, reason: "out of memory") }
        guard pq.status(connection) == CONNECTION_OK else {
            let reason = redactor.redact(Self.message(pq.errorMessage(connection)))
            pq.finish(connection)
            if reason.contains("invalid URI") || reason.contains("invalid connection option")
                || reason.contains("invalid integer value") {
                throw ResultsDatabaseError.invalidURL(reason)
            }
            throw ResultsDatabaseError.unavailable(server: server, reason: reason)
        }
        withUnsafePointer(to: pq) { clibpq_silence_notices($0, connection) }
        handle = Mutex(connection)
    }

    deinit {
        handle.withLock { connection in
            if let connection { pq.finish(connection) }
            connection = nil
        }
    }

    /// Whether the connection broke; a broken connection is thrown away, not reused.
    public var isBroken: Bool {
        handle.withLock { connection in connection.map { pq.status($0) != CONNECTION_OK } ?? true }
    }

    /// Runs one statement with `$1`, `$2`... parameters sent apart from the
    /// SQL text (never spliced into it). `nil` is SQL NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> QueryRows {
        try handle.withLock { connection -> QueryRows in
            guard let connection, pq.status(connection) == CONNECTION_OK else {
                throw ResultsDatabaseError.unavailable(server: server, reason: "the connection was lost")
            }
            let result = Self.withOptionalCStrings(parameters) { values in
                self.pq.execParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            defer { pq.clear(result) }
            switch pq.resultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                return rows(of: result)
            default:
                throw error(of: result, connection: connection)
            }
        }
    }

    private func error(of result: OpaquePointer?, connection: OpaquePointer) -> ResultsDatabaseError {
        let message = redactor.redact(Self.message(result.flatMap { pq.resultErrorMessage($0) } ?? pq.errorMessage(connection)))
        let field = { (code: UInt8) -> String? in
            result.flatMap { self.pq.resultErrorField($0, Int32(code)) }.map { String(cString: $0) }
        }
        // No SQLSTATE and a bad connection: the server went away mid-statement.
        guard let state = field(UInt8(ascii: "C")), pq.status(connection) == CONNECTION_OK || state.hasPrefix("57P") else {
            return .unavailable(server: server, reason: message.isEmpty ? "the connection was lost" : message)
        }
        let primary = field(UInt8(ascii: "M")).map(redactor.redact) ?? message
        return .refused(sqlState: state, constraint: field(UInt8(ascii: "n")), message: primary)
    }

    private func rows(of result: OpaquePointer?) -> QueryRows {
        guard let result else { return QueryRows(columns: [], rows: []) }
        let columnCount = pq.nfields(result), rowCount = pq.ntuples(result)
        let columns = (0..<columnCount).map { pq.fname(result, $0).map { String(cString: $0) } ?? "" }
        let rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column -> String? in
                pq.getisnull(result, row, column) == 1 ? nil : pq.getvalue(result, row, column).map { String(cString: $0) }
            }
        }
        return QueryRows(columns: columns, rows: rows)
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        text.map { message(String(cString: $0)) } ?? ""
    }

    private static func message(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: "; ").replacingOccurrences(of: "\t", with: "")
    }

    /// The URL as it may be shown: user and host kept, every credential replaced.
    public static func redacted(_ url: String) -> String {
        CredentialRedactor(url: url).redact(url)
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
        withOptionalCStrings(strings) { body($0!) }
    }

    private static func withOptionalCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { $0.map { free($0) } } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
