import COpenSSL

/// Key material that wipes itself. Static keys, session keys and PSKs live in
/// this type so that a copy cannot outlive the session in freed memory, and so
/// that printing one shows its length, never its value.
public final class SecretBytes: CustomStringConvertible, CustomDebugStringConvertible {
    private var storage: [UInt8]

    public init(_ bytes: [UInt8]) {
        storage = bytes
    }

    deinit {
        wipe()
    }

    public var count: Int { storage.count }

    /// Runs `body` with the secret; the pointer must not escape.
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBufferPointer(body)
    }

    /// A copy as a plain array, for code that must hand the bytes on (OpenSSL
    /// calls, KDF inputs). The caller wipes it with `Secure.wipe`.
    public func exposedCopy() -> [UInt8] { storage }

    /// Overwrites the bytes with zeros in a way the optimiser keeps.
    public func wipe() {
        Secure.wipe(&storage)
    }

    public var description: String { "<redacted \(storage.count) bytes>" }
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
    case openSSL(String)
    case invalidKeyLength(Int)
    case notBlockAligned(Int)

    public var description: String {
        switch self {
        case .openSSL(let function):
            return "OpenSSL \(function) failed: \(CryptoError.lastOpenSSLError())"
        case .invalidKeyLength(let length):
            return "an AES key is 16, 24 or 32 bytes; got \(length)"
        case .notBlockAligned(let length):
            return "\(length) bytes is not a whole number of 16-byte AES blocks"
        }
    }

    static func lastOpenSSLError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no detail" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(cString: buffer)
    }
}
