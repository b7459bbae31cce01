import Foundation

/// Secrets a command reads: from a file, or an environment variable, never
/// from a flag that `ps` shows. A file's single trailing newline is not part
/// of the secret, so `echo 1234 > pin` works.
enum SecretInput {
    static func read(file: String?, environment variable: String) throws -> [UInt8]? {
        if let file {
            var bytes = [UInt8](try InputFile.read(file, limit: InputFile.secretLimit))
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            return bytes
        }
        if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return Array(value.utf8) }
        return nil
    }

    static func text(file: String?, environment variable: String) throws -> String? {
        try read(file: file, environment: variable).map { String(decoding: $0, as: UTF8.self) }
    }
}
