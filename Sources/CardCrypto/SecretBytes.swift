import COpenSSL
import Synchronization

/// Key material that wipes itself. Static keys, session keys and PSKs live in
/// this type so that a copy cannot outlive the session in freed memory, and so
/// that printing one shows its length, never its value.
///
/// The bytes live in a buffer this object allocates and alone owns: unlike an
/// array, no copy-on-write sharing can leave an unwiped twin behind. The
/// buffer is whole pages locked in RAM and left out of core dumps
/// (SecretMemory), zeroed on `wipe()` and on deallocation; a lock makes the
/// object safe to share between the threads of a station.
public final class SecretBytes: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let storage: Mutex<Storage>
    public let count: Int

    /// An owned allocation; `Mutex` requires its value to be sendable, and the
    /// only access to the pointer is under that lock.
    private struct Storage: ~Copyable, @unchecked Sendable {
        /// Whole pages (SecretMemory); the secret is the first `count` bytes.
        let buffer: UnsafeMutableRawBufferPointer
        let count: Int
        /// Shown the buffer after the wipe and before it is freed (tests).
        let onRelease: (@Sendable (UnsafeRawBufferPointer) -> Void)?

        init(copying bytes: ArraySlice<UInt8>, onRelease: (@Sendable (UnsafeRawBufferPointer) -> Void)?) {
            let buffer = SecretMemory.allocate(bytes.count)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            self.buffer = buffer
            count = bytes.count
            self.onRelease = onRelease
        }

        func wipe() {
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }

        deinit {
            wipe()
            onRelease?(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            SecretMemory.release(buffer)
        }
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(bytes[...], onRelease: nil)
    }

    /// Copies part of a buffer (a key out of a longer unwrapped block)
    /// without an intermediate array that would be left unwiped.
    public convenience init(_ bytes: ArraySlice<UInt8>) {
        self.init(bytes, onRelease: nil)
    }

    init(_ bytes: ArraySlice<UInt8>, onRelease: (@Sendable (UnsafeRawBufferPointer) -> Void)?) {
        count = bytes.count
        storage = Mutex(Storage(copying: bytes, onRelease: onRelease))
    }

    /// Takes the bytes of a temporary (a KDF output) and wipes the temporary.
    public convenience init(wiping bytes: inout [UInt8]) {
        self.init(bytes)
        Secure.wipe(&bytes)
    }

    /// Runs `body` with the secret; the pointer must not escape.
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try storage.withLock { storage in
            try body(UnsafeBufferPointer(start: storage.buffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                         count: count))
        }
    }

    /// A copy as a plain array, for code that must hand the bytes on (OpenSSL
    /// calls, KDF inputs). The caller wipes it with `Secure.wipe`.
    public func exposedCopy() -> [UInt8] { withBytes { Array($0) } }

    /// Overwrites the bytes with zeros in a way the optimiser keeps.
    public func wipe() {
        storage.withLock { $0.wipe() }
    }

    public var description: String { "<redacted \(count) bytes>" }
    public var debugDescription: String { description }
}

public enum Secure {
    /// Zeroes an array in place with OPENSSL_cleanse, which the compiler cannot drop.
    public static func wipe(_ bytes: inout [UInt8]) {
        let count = bytes.count
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, count) }
        }
    }

    /// Compares in time that depends only on the length, for MACs and cryptograms.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, lhs.count) == 0 }
        }
    }

    /// Cryptographically strong random bytes from OpenSSL's generator.
    public static func randomBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw CryptoError.openSSL("RAND_bytes") }
        return bytes
    }
}

public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; `detail` is OpenSSL's error queue as it stood
    /// when the error was made (read later, it may hold another call's errors).
    case openSSLFailure(function: String, detail: String)
    case invalidKeyLength(Int)
    case notBlockAligned(Int)
    /// CBC takes a 16-byte IV; ECB takes none.
    case invalidIVLength(Int)

    /// The failure of `function`, with OpenSSL's reasons read and cleared now.
    public static func openSSL(_ function: String) -> CryptoError {
        .openSSLFailure(function: function, detail: drainOpenSSLErrors())
    }

    public var description: String {
        switch self {
        case .openSSLFailure(let function, let detail):
            return "OpenSSL \(function) failed: \(detail)"
        case .invalidKeyLength(let length):
            return "an AES key is 16, 24 or 32 bytes; got \(length)"
        case .notBlockAligned(let length):
            return "\(length) bytes is not a whole number of 16-byte AES blocks"
        case .invalidIVLength(let length):
            return "an AES-CBC IV is 16 bytes; got \(length)"
        }
    }

    /// Every reason in OpenSSL's error queue of this thread, which is left empty.
    public static func drainOpenSSLErrors() -> String {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [UInt8](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer { pointer in
                pointer.withMemoryRebound(to: CChar.self) { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            }
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self))
        }
        return reasons.isEmpty ? "no detail" : reasons.joined(separator: "; ")
    }
}
