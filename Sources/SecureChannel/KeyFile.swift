import APDU
import CardCrypto
import Foundation

/// The static SCP03 keys as dmboot reads them: from a key file (JSON,
/// dmboot-keys(5)), from hex given directly, or from the environment.
///
/// A key file that anyone but its owner can read or write is refused: the
/// keys open every card of a batch.
public enum KeyFile {
    public struct Contents: Decodable {
        let kvn: String
        let enc: String
        let mac: String
        let dek: String
        let mode: String?
        /// Per-card departures from Amendment D, by name (SCP03Compatibility.names).
        let compatibility: [String]?
    }

    /// Refuses a secret file that its group or others may read or write.
    public static func requireOwnerOnly(path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw KeyError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let permissions = status.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw KeyError.tooOpen(path: path, mode: String(permissions, radix: 8))
        }
    }

    public static func load(path: String) throws -> (SCP03Keys, ChallengeMode) {
        let contents = try read(path: path)
        return try parse(kvn: contents.kvn, enc: contents.enc, mac: contents.mac, dek: contents.dek,
                         mode: contents.mode, source: path)
    }

    /// The compatibility settings a key file names for its cards, such as
    /// "counter-data-only"; an unknown name is an error, never ignored.
    public static func compatibility(path: String) throws -> SCP03Compatibility {
        let names = try read(path: path).compatibility ?? []
        guard let value = SCP03Compatibility(names: names) else {
            let known = SCP03Compatibility.names.keys.sorted().joined(separator: ", ")
            throw KeyError.malformed(source: path, reason: "compatibility takes \(known); got \(names.joined(separator: ", "))")
        }
        return value
    }

    private static func read(path: String) throws -> Contents {
        try requireOwnerOnly(path: path)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KeyError.unreadable(path: path, reason: error.localizedDescription)
        }
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw KeyError.malformed(source: path, reason: "\"\(key.stringValue)\" is missing")
        } catch {
            throw KeyError.malformed(source: path, reason: "not a JSON object with kvn, enc, mac and dek")
        }
        return contents
    }

    /// Builds keys from hex text, naming `source` (a file, flags, the
    /// environment) in errors and never the key bytes.
    public static func parse(kvn: String, enc: String, mac: String, dek: String, mode: String?,
                             source: String) throws -> (SCP03Keys, ChallengeMode) {
        func bytes(_ text: String, _ name: String) throws -> [UInt8] {
            do {
                return try Hex.decode(text)
            } catch {
                throw KeyError.malformed(source: source, reason: "\(name) is not hex")
            }
        }
        let version = try bytes(kvn, "kvn")
        guard version.count == 1 else { throw KeyError.malformed(source: source, reason: "kvn is one hex byte, such as 30") }
        let challengeMode: ChallengeMode
        switch mode?.uppercased() {
        case nil, "S8": challengeMode = .s8
        case "S16": challengeMode = .s16
        case let other?: throw KeyError.malformed(source: source, reason: "mode \(other) is neither S8 nor S16")
        }
        var encBytes = try bytes(enc, "enc"), macBytes = try bytes(mac, "mac"), dekBytes = try bytes(dek, "dek")
        defer {
            Secure.wipe(&encBytes)
            Secure.wipe(&macBytes)
            Secure.wipe(&dekBytes)
        }
        do {
            let keys = try SCP03Keys(version: version[0], enc: SecretBytes(encBytes), mac: SecretBytes(macBytes),
                                     dek: SecretBytes(dekBytes))
            return (keys, challengeMode)
        } catch let error as SecureChannelError {
            throw KeyError.malformed(source: source, reason: "\(error)")
        }
    }
}

public enum KeyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case tooOpen(path: String, mode: String)
    case malformed(source: String, reason: String)
    case missing
    case conflictingSources
    case incompleteHexKeys

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read key file \(path): \(reason)"
        case .tooOpen(let path, let mode):
            return "key file \(path) has mode \(mode): others can read it; chmod 600 \(path)"
        case .malformed(let source, let reason):
            return "keys from \(source): \(reason)"
        case .missing:
            return "no SCP03 keys: give --keys FILE, --key-enc/--key-mac/--key-dek, the DMBOOT_KEY_* variables, or --gp-test-keys"
        case .conflictingSources:
            return "give one key source: --keys, --key-enc/--key-mac/--key-dek, or --gp-test-keys"
        case .incompleteHexKeys:
            return "--key-enc, --key-mac and --key-dek go together"
        }
    }
}
