import CardCrypto
import Foundation
import LocalFiles
import SecureChannel

/// Where the token's user PIN comes from: the file a URI's `pin-source`
/// names (`file:/path` or an absolute path, RFC 7512 2.3), or, without a
/// pin-source, the DMBOOT_PKCS11_PIN environment variable. Never a flag.
public enum PINSource {
    public static let environmentName = "DMBOOT_PKCS11_PIN"

    /// The PIN bytes; the caller wipes them. A trailing newline (as editors
    /// and `echo` leave) is not part of the PIN.
    public static func read(_ source: String?, environment: [String: String]) throws -> SecretBytes {
        guard let source else {
            guard let pin = environment[environmentName], !pin.isEmpty else { throw PINSourceError.noPIN }
            var bytes = Array(pin.utf8)
            return SecretBytes(wiping: &bytes)
        }
        let path: String
        if source.hasPrefix("file:") {
            path = String(source.dropFirst("file:".count))
        } else if source.hasPrefix("/") {
            path = source
        } else {
            throw PINSourceError.unsupported(source)
        }
        var bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path)
        } catch let error as SecretFileError where !error.isPermissionProblem {
            throw PINSourceError.unusable(path: path, reason: error.reason)
        }
        defer { Secure.wipe(&bytes) }
        var length = bytes.count
        while length > 0, bytes[length - 1] == 0x0A || bytes[length - 1] == 0x0D { length -= 1 }
        guard length > 0 else { throw PINSourceError.unusable(path: path, reason: "it is empty") }
        var pin = Array(bytes[..<length])
        return SecretBytes(wiping: &pin)
    }
}

public enum PINSourceError: Error, Equatable, CustomStringConvertible {
    case noPIN
    case unsupported(String)
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .noPIN:
            return "no token PIN: add pin-source=file:PATH to the PKCS#11 URI or set \(PINSource.environmentName)"
        case .unsupported(let source):
            return "pin-source \(source) is not a file: URI or an absolute path"
        case .unusable(let path, let reason):
            return "PIN file \(path): \(reason)"
        }
    }
}
