import ExitContract
import Glibc

/// The one rule for every file that holds a secret (SCP03 key files, PIN and
/// password files, raw keys, PKCS#11 PIN files, key tables in the clear, the
/// results database password): a regular file, owned by the user who runs
/// dmboot, with no permission bit for its group or others. The checks are made
/// on the descriptor the bytes are then read from, so the file checked is the
/// file read (a rename in between cannot swap it).
public enum SecretFile {
    /// PINs, passwords, raw keys, PEM keys, key files: far below this.
    public static let sizeLimit = 64 * 1024

    /// The file's bytes; the caller wipes them once it has taken the secret out.
    public static func read(_ path: String, limit: Int = sizeLimit) throws -> [UInt8] {
        // O_NONBLOCK: a FIFO with no writer opens at once, so it can be refused.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { throw SecretFileError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw SecretFileError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        try check(status, path: path, limit: limit)
        var bytes = [UInt8](repeating: 0, count: min(Int(status.st_size), limit) + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                let reason = String(cString: strerror(errno))
                wipe(&bytes)
                throw SecretFileError.unreadable(path: path, reason: reason)
            }
            if count == 0 { break }
            filled += count
        }
        guard filled <= limit else {
            wipe(&bytes)
            throw SecretFileError.tooLarge(path: path, limit: limit)
        }
        // Shrinking in place keeps the one allocation, so no unwiped copy is left behind.
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    static func check(_ status: stat, path: String, limit: Int) throws {
        guard status.st_mode & S_IFMT == S_IFREG else { throw SecretFileError.notRegularFile(path: path, kind: kind(of: status.st_mode)) }
        let user = geteuid()
        guard status.st_uid == user else { throw SecretFileError.notOwned(path: path, owner: status.st_uid, user: user) }
        let permissions = status.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw SecretFileError.exposed(path: path, mode: String(permissions, radix: 8))
        }
        guard status.st_size <= limit else { throw SecretFileError.tooLarge(path: path, limit: limit) }
    }

    /// What a path that is not a regular file is, for the message.
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a folder"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            // explicit_bzero: a store the optimiser may not drop (glibc 2.25).
            explicit_bzero(base, buffer.count)
        }
    }
}

/// Why a secret file was not read. `exposed` and `notOwned` say the fix.
public enum SecretFileError: Error, Equatable, CustomStringConvertible, ClassifiedFailure {
    case unreadable(path: String, reason: String)
    case notRegularFile(path: String, kind: String)
    case tooLarge(path: String, limit: Int)
    case exposed(path: String, mode: String)
    case notOwned(path: String, owner: uid_t, user: uid_t)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read secret file \(path): \(reason)"
        case .notRegularFile(let path, let kind): return "cannot read secret file \(path): not a regular file (\(kind))"
        case .tooLarge(let path, let limit): return "cannot read secret file \(path): larger than \(limit) bytes, more than a secret can be"
        case .exposed(let path, let mode):
            return "secret file \(path) has mode \(mode): its group or others may read or change it; chmod 600 \(path)"
        case .notOwned(let path, let owner, let user):
            return "secret file \(path) belongs to uid \(owner), not to this user (uid \(user)); "
                + "copy it as this user (install -m 600 \(path) NEWFILE) or chown it, then chmod 600"
        }
    }

    /// What went wrong, without the path: for a caller that folds the
    /// error into its own "cannot read" error, which names the path.
    public var reason: String {
        switch self {
        case .unreadable(_, let reason): return reason
        case .notRegularFile(_, let kind): return "not a regular file (\(kind))"
        case .tooLarge(_, let limit): return "larger than \(limit) bytes, more than a secret can be"
        case .exposed, .notOwned: return description
        }
    }

    /// The errors a caller may fold into its own "cannot read" error; the
    /// other two keep their own exit status, which says what to fix.
    public var isPermissionProblem: Bool {
        switch self {
        case .exposed, .notOwned: return true
        case .unreadable, .notRegularFile, .tooLarge: return false
        }
    }

    public var exitStatus: ExitStatus { isPermissionProblem ? .secretFileExposed : .fileError }
}
