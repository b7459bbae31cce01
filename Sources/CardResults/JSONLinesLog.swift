import ExitContract
import Foundation
import Synchronization

/// A log of one JSON object per card, one per line, appended and flushed to
/// disk as each card ends, so that a crash loses at most the card in
/// progress. Lines from several threads never interleave.
public final class JSONLinesLog: ResultSink {
    private let handle: Mutex<FileHandle>
    public let path: String

    public init(path: String) throws {
        self.path = path
        handle = Mutex(try Self.open(path))
    }

    private static func open(_ path: String) throws -> FileHandle {
        let descriptor = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw LogError.cannotOpen(path: path, errno: errno) }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Opens the path again, creating it, after logrotate renamed the file
    /// (its SIGHUP convention): later lines go to the new file, none is lost
    /// between the two. When the path cannot be opened the old file is kept.
    public func reopen() throws {
        let fresh = try Self.open(path)
        handle.withLock { $0 = fresh }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    public func record(_ result: CardResult) throws {
        var rounded = result
        rounded.milliseconds = (result.milliseconds * 10).rounded() / 10
        try append(rounded)
    }

    /// Any record as one line (a key rotation's, for one): written whole and synced.
    public func append<Record: Encodable>(_ record: Record) throws {
        let line = try Self.encoder.encode(record) + Data("\n".utf8)
        try handle.withLock { handle in
            do {
                try handle.write(contentsOf: line)
                try handle.synchronize()
            } catch {
                throw LogError.cannotWrite(path: path, reason: "\(error)")
            }
        }
    }
}

public enum LogError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            return "cannot open the log \(path): \(String(cString: strerror(code)))"
        case .cannotWrite(let path, let reason):
            return "cannot append to the log \(path): \(reason)"
        }
    }
}

extension LogError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .fileError }
}
