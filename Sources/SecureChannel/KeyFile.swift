import APDU
import CardCrypto
import Foundation
import LocalFiles

/// The static SCP03 keys as dmboot reads them: from a key file (JSON,
/// dmboot-keys(5)), from hex given directly, or from the environment.
///
/// A key file that anyone but its owner can read or write, or that another
/// user owns, is refused (SecretFile): the keys open every card of a batch.
public enum KeyFile {
    /// A key file is a few hundred bytes; anything far larger is not one, and is refused before it is read.
    public static let sizeLimit = 64 * 1024

    /// The JSON object of dmboot-keys(5). `kvn` is a JSON number (its value:
    /// 48 is 0x30) or a string of two hex digits ("30"), as people write it
    /// both ways; the keys are hex strings.
    public struct Contents: Decodable {
        let kvn: UInt8
        let enc: String
        let mac: String
        let dek: String
        let mode: String?
        /// Per-card departures from Amendment D, by name (SCP03Compatibility.names).
        let compatibility: [String]?

        enum CodingKeys: String, CodingKey { case kvn, enc, mac, dek, mode, compatibility }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kvn = try Self.keyVersion(in: container)
            enc = try Self.text(.enc, in: container)
            mac = try Self.text(.mac, in: container)
            dek = try Self.text(.dek, in: container)
            mode = container.contains(.mode) ? try Self.text(.mode, in: container) : nil
            guard container.contains(.compatibility) else {
                compatibility = nil
                return
            }
            guard let names = try? container.decode([String].self, forKey: .compatibility) else {
                throw KeyFieldError(field: "compatibility", problem: "a list of names, found \(Self.found(.compatibility, in: container))")
            }
            compatibility = names
        }

        private static func keyVersion(in container: KeyedDecodingContainer<CodingKeys>) throws -> UInt8 {
            guard container.contains(.kvn) else { throw KeyFieldError(field: "kvn", problem: "missing") }
            if let number = try? container.decode(Int.self, forKey: .kvn) {
                guard let version = UInt8(exactly: number) else {
                    throw KeyFieldError(field: "kvn", problem: "\(number) is not a key version number (0 to 255, or hex such as \"30\")")
                }
                return version
            }
            if let text = try? container.decode(String.self, forKey: .kvn) { return try KeyFile.keyVersion(hex: text) }
            throw KeyFieldError(field: "kvn", problem: "a number (48) or a hex string (\"30\"), found \(found(.kvn, in: container))")
        }

        private static func text(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>) throws -> String {
            guard container.contains(key) else { throw KeyFieldError(field: key.rawValue, problem: "missing") }
            guard let text = try? container.decode(String.self, forKey: key) else {
                throw KeyFieldError(field: key.rawValue, problem: "a string, found \(found(key, in: container))")
            }
            return text
        }

        /// What a field holds instead, named without its value (it may be a key).
        private static func found(_ key: CodingKeys, in container: KeyedDecodingContainer<CodingKeys>) -> String {
            if (try? container.decodeNil(forKey: key)) == true { return "null" }
            if (try? container.decode(Bool.self, forKey: key)) != nil { return "true or false" }
            if (try? container.decode(Double.self, forKey: key)) != nil { return "a number" }
            if (try? container.decode(String.self, forKey: key)) != nil { return "a string" }
            if (try? container.decode([Double?].self, forKey: key)) != nil { return "a list" }
            return "an object or a list"
        }
    }

    /// A key file's keys, challenge mode and compatibility settings (such as
    /// "counter-data-only"), from one read of the file. An unknown
    /// compatibility name is an error, never ignored.
    public static func open(path: String) throws -> (keys: SCP03Keys, mode: ChallengeMode, compatibility: SCP03Compatibility) {
        let contents = try read(path: path)
        let names = contents.compatibility ?? []
        guard let compatibility = SCP03Compatibility(names: names) else {
            let known = SCP03Compatibility.names.keys.sorted().joined(separator: ", ")
            throw KeyError.malformed(source: path, reason: "compatibility takes \(known); got \(names.joined(separator: ", "))")
        }
        let (keys, mode) = try keys(version: contents.kvn, enc: contents.enc, mac: contents.mac, dek: contents.dek,
                                    mode: contents.mode, source: path)
        return (keys, mode, compatibility)
    }

    /// By the one rule of secret files (SecretFile): a key file its group or
    /// others may read, or another user's, is refused with the fix.
    private static func read(path: String) throws -> Contents {
        var bytes: [UInt8]
        do {
            bytes = try SecretFile.read(path, limit: sizeLimit)
        } catch let error as SecretFileError where !error.isPermissionProblem {
            throw KeyError.unreadable(path: path, reason: error.reason)
        }
        defer { Secure.wipe(&bytes) }
        var data = Data(bytes)
        defer { data.resetBytes(in: 0..<data.count) }
        return try contents(of: data, source: path)
    }

    /// A key file's JSON; every error names the field and what is wrong with it.
    static func contents(of data: Data, source: String) throws -> Contents {
        do {
            return try JSONDecoder().decode(Contents.self, from: data)
        } catch let error as KeyFieldError {
            throw KeyError.malformed(source: source, reason: "\(error)")
        } catch DecodingError.typeMismatch {
            throw KeyError.malformed(source: source, reason: "the file is JSON but not an object; dmboot-keys(5) shows one")
        } catch {
            throw KeyError.malformed(source: source, reason: data.isEmpty
                ? "the file is empty, not JSON"
                : "not JSON (cut short, or not JSON at all): a key file is one JSON object with kvn, enc, mac and dek")
        }
    }

    /// Builds keys from hex text, naming `source` (a file, flags, the
    /// environment) in errors and never the key bytes.
    public static func parse(kvn: String, enc: String, mac: String, dek: String, mode: String?,
                             source: String) throws -> (SCP03Keys, ChallengeMode) {
        let version: UInt8
        do {
            version = try keyVersion(hex: kvn)
        } catch let error as KeyFieldError {
            throw KeyError.malformed(source: source, reason: "\(error)")
        }
        return try keys(version: version, enc: enc, mac: mac, dek: dek, mode: mode, source: source)
    }

    static func keyVersion(hex text: String) throws -> UInt8 {
        guard let bytes = try? Hex.decode(text), bytes.count == 1 else {
            throw KeyFieldError(field: "kvn", problem: "\"\(text)\" is not one hex byte such as \"30\" (or a JSON number such as 48)")
        }
        return bytes[0]
    }

    private static func keys(version: UInt8, enc: String, mac: String, dek: String, mode: String?,
                             source: String) throws -> (SCP03Keys, ChallengeMode) {
        func bytes(_ text: String, _ name: String) throws -> [UInt8] {
            let digits = text.filter { !$0.isWhitespace && $0 != ":" }
            if let position = digits.firstIndex(where: { !$0.isASCII || !$0.isHexDigit }) {
                let offset = digits.distance(from: digits.startIndex, to: position) + 1
                throw KeyError.malformed(source: source, reason: "\(name): hex digit \(offset) is not a hex digit")
            }
            guard [32, 48, 64].contains(digits.count) else {
                throw KeyError.malformed(source: source, reason: "\(name): \(digits.count) hex digits, expected 32, 48 or 64 (an AES-128, -192 or -256 key)")
            }
            return try Hex.decode(digits)
        }
        let challengeMode: ChallengeMode
        switch mode?.uppercased() {
        case nil, "S8": challengeMode = .s8
        case "S16": challengeMode = .s16
        case let other?: throw KeyError.malformed(source: source, reason: "mode: \"\(other)\" is neither S8 nor S16")
        }
        var encBytes = try bytes(enc, "enc"), macBytes = try bytes(mac, "mac"), dekBytes = try bytes(dek, "dek")
        defer {
            Secure.wipe(&encBytes)
            Secure.wipe(&macBytes)
            Secure.wipe(&dekBytes)
        }
        do {
            let keys = try SCP03Keys(version: version, enc: SecretBytes(encBytes), mac: SecretBytes(macBytes),
                                     dek: SecretBytes(dekBytes))
            return (keys, challengeMode)
        } catch let error as SecureChannelError {
            throw KeyError.malformed(source: source, reason: "\(error)")
        }
    }
}

/// One field of a key file that is missing or wrong; never carries the field's value.
struct KeyFieldError: Error, CustomStringConvertible {
    let field: String
    let problem: String

    var description: String { "\(field): \(problem)" }
}

public enum KeyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(source: String, reason: String)
    case missing
    case conflictingSources
    case incompleteHexKeys

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read key file \(path): \(reason)"
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
