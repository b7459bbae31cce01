import ExitContract
import Foundation
import LocalFiles

/// Files named on the command line, read with limits: only a regular file
/// (a FIFO would block and a device never end), and never more than the
/// command can use, checked before the bytes are read (a 1 GB PIN file must
/// not take memory to be refused).
public enum InputFile {
    /// PINs, passwords, raw keys, PEM keys: far below this.
    public static let secretLimit = 64 * 1024
    /// Bootstrap documents, tree exports, pushed bodies, MCIM blobs.
    public static let documentLimit = 16 * 1024 * 1024

    public static func read(_ path: String, limit: Int) throws -> Data {
        // O_NONBLOCK: opening a FIFO with no writer returns at once, so it can be refused.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw InputFileError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw InputFileError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw InputFileError.notRegularFile(path: path, kind: SecretFile.kind(of: status.st_mode))
        }
        guard status.st_size <= limit else { throw InputFileError.tooLarge(path: path, limit: limit) }
        let data = try handle.read(upToCount: limit + 1) ?? Data()
        guard data.count <= limit else { throw InputFileError.tooLarge(path: path, limit: limit) }
        return data
    }

    /// Standard input, with the same limit.
    public static func readStandardInput(limit: Int) throws -> Data {
        let data = try FileHandle.standardInput.read(upToCount: limit + 1) ?? Data()
        guard data.count <= limit else { throw InputFileError.tooLarge(path: "standard input", limit: limit) }
        return data
    }

    /// Refuses a file path whose folder does not exist (or is not a folder).
    public static func requireFolder(of path: String, option: String, hasDefault: Bool = true) throws {
        let folder = PathText.folder(of: path)
        guard !folder.isEmpty else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputFileError.missingFolder(folder: folder, option: option, hasDefault: hasDefault)
        }
    }

}

public enum InputFileError: Error, CustomStringConvertible, ClassifiedFailure {
    case unreadable(path: String, reason: String)
    case notRegularFile(path: String, kind: String)
    case tooLarge(path: String, limit: Int)
    case missingFolder(folder: String, option: String, hasDefault: Bool)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .notRegularFile(let path, let kind): return "cannot read \(path): not a regular file (\(kind))"
        case .tooLarge(let path, let limit): return "cannot read \(path): larger than \(limit) bytes, more than this input can be"
        case .missingFolder(let folder, let option, let hasDefault):
            return "\(option): the folder \(folder) does not exist; create it"
                + (hasDefault ? ", or leave out \(option) for the default location (created when missing)" : "")
        }
    }

    public var exitStatus: ExitStatus { .fileError }
}
