import Foundation
import LocalFiles

/// Why the spool could not keep a record. A result that cannot be spooled is
/// lost, so the station says so on every card.
public enum SpoolError: Error, Equatable, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): return "cannot write the result spool \(path): \(reason)"
        case .cannotRead(let path, let reason): return "cannot read the result spool \(path): \(reason)"
        }
    }
}

/// Where results wait while the database is unreachable: one file per
/// record, `<record id>.json`, mode 0600 in a 0700 folder. A record is
/// written beside its name, synced, renamed into place and the folder
/// synced, so after a crash a record file is whole or absent.
public struct ResultSpool: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$XDG_STATE_HOME/dmboot/spool`, else `~/.local/state/dmboot/spool`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        (stateDirectory(environment: environment) as NSString).appendingPathComponent("spool")
    }

    /// `$XDG_STATE_HOME/dmboot`, else `~/.local/state/dmboot`.
    public static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
        return (state as NSString).appendingPathComponent("dmboot")
    }

    /// Writes `record` durably; it is in the spool once this returns.
    public func write(_ record: ResultRecord) throws {
        try writeFile(try ResultRecord.encoder.encode(record), name: record.recordID.uuidString.lowercased() + ".json")
    }

    /// Writes `data` as `name` durably: a temporary name, synced, renamed, the folder synced.
    func writeFile(_ data: Data, name: String) throws {
        try createDirectory()
        let temporary = (directory as NSString).appendingPathComponent(".\(name).tmp")
        let final = (directory as NSString).appendingPathComponent(name)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError.cannotWrite(path: temporary, reason: Self.reason()) }
        let written = data.withUnsafeBytes { bytes in Foundation.write(descriptor, bytes.baseAddress, bytes.count) }
        let synced = written == data.count ? fsync(descriptor) : -1
        let failure = synced == 0 ? nil : (written == data.count ? Self.reason() : "short write")
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw SpoolError.cannotWrite(path: temporary, reason: failure)
        }
        guard rename(temporary, final) == 0 else {
            let reason = Self.reason()
            unlink(temporary)
            throw SpoolError.cannotWrite(path: final, reason: reason)
        }
        try syncDirectory()
    }

    /// The spooled records, oldest first. A file that does not read as a
    /// record (edited by hand, from a newer dmboot) is set aside as
    /// `<name>.unreadable` and reported, never deleted.
    public func pending() throws -> (records: [ResultRecord], unreadable: [String]) {
        let (records, unreadable) = try decodeFiles(suffix: ".json", as: ResultRecord.self)
        return (records.sorted { ($0.time, $0.recordID.uuidString) < ($1.time, $1.recordID.uuidString) }, unreadable)
    }

    /// Every `*<suffix>` file of the folder decoded; one that does not decode
    /// is renamed `<name>.unreadable` and listed.
    func decodeFiles<T: Decodable>(suffix: String, as type: T.Type) throws -> (items: [T], unreadable: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch CocoaError.fileReadNoSuchFile {
            return ([], [])
        } catch {
            throw SpoolError.cannotRead(path: directory, reason: "\(error.localizedDescription)")
        }
        var items: [T] = []
        var unreadable: [String] = []
        for name in names where name.hasSuffix(suffix) && !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            if let item = try? ResultRecord.decoder.decode(T.self, from: data) {
                items.append(item)
            } else {
                rename(path, path + ".unreadable")
                unreadable.append(path + ".unreadable")
            }
        }
        return (items, unreadable)
    }

    /// How many records wait.
    public var count: Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.count
    }

    /// Drops a delivered record. Removing one that is gone already is fine:
    /// two flushes may deliver the same record (the database stores it once).
    public func remove(_ id: UUID) throws {
        let path = (directory as NSString).appendingPathComponent(id.uuidString.lowercased() + ".json")
        guard unlink(path) == 0 || errno == ENOENT else { throw SpoolError.cannotWrite(path: path, reason: Self.reason()) }
        try syncDirectory()
    }

    /// Keeps a record that cannot be delivered beside the spool as
    /// `<record id>.json.<suffix>`, out of the way of later flushes.
    public func setAside(_ id: UUID, as suffix: String) {
        let path = (directory as NSString).appendingPathComponent(id.uuidString.lowercased() + ".json")
        rename(path, path + "." + suffix)
    }

    private func createDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw SpoolError.cannotWrite(path: directory, reason: error.localizedDescription)
        }
    }

    private func syncDirectory() throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SpoolError.cannotWrite(path: directory, reason: Self.reason()) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SpoolError.cannotWrite(path: directory, reason: Self.reason()) }
    }

    private static func reason() -> String { String(cString: strerror(errno)) }
}

/// The cards this station provisioned, kept on disk beside the spool: what
/// it checks duplicates against while the database is unreachable. One
/// line per card, `<identity> ok`, appended and synced per card: a line a
/// crash cut short lacks its ` ok` and is ignored.
public struct KnownCards: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// `$XDG_STATE_HOME/dmboot/provisioned-cards`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        (ResultSpool.stateDirectory(environment: environment) as NSString).appendingPathComponent("provisioned-cards")
    }

    public func load() throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw SpoolError.cannotRead(path: path, reason: "unreadable") }
            return []
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        return Set(lines.filter { $0.hasSuffix(" ok") }.map { String($0.dropLast(3)) })
    }

    public func add(_ identity: String) throws {
        try? FileManager.default.createDirectory(atPath: PathText.folder(of: path), withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let descriptor = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SpoolError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        // A line cut short by a crash gets its own end first, so it cannot merge with this one.
        var last: UInt8 = 0x0A
        let size = lseek(descriptor, 0, SEEK_END)
        if size > 0 { _ = pread(descriptor, &last, 1, size - 1) }
        let line = Data(((last == 0x0A ? "" : "\n") + identity + " ok\n").utf8)
        let written = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw SpoolError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
