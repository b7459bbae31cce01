import CardCrypto
import CommandLineSupport
import Foundation
import LocalFiles

/// Secrets a command reads: from a file (by the one rule of SecretFile: the
/// user's own regular file, no group or other permission bits), or an
/// environment variable, never from a flag that `ps` shows. A file's single trailing newline is not part
/// of the secret, so `echo 1234 > pin` works. The bytes go straight into a
/// `SecretBytes` and the buffer they were read into is wiped.
enum SecretInput {
    static func read(file: String?, environment variable: String? = nil) throws -> SecretBytes? {
        if let file {
            var bytes = try SecretFile.read(file)
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            return SecretBytes(wiping: &bytes)
        }
        if let variable, let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty {
            var bytes = Array(value.utf8)
            return SecretBytes(wiping: &bytes)
        }
        return nil
    }

    /// A secret that an API takes as text (a digest password).
    static func text(file: String?, environment variable: String? = nil) throws -> String? {
        guard let secret = try read(file: file, environment: variable) else { return nil }
        var bytes = secret.exposedCopy()
        defer { Secure.wipe(&bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
