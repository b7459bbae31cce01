import APDU
import ArgumentParser
import Foundation
import SecureChannel

/// Where the static SCP03 keys come from. Exactly one source is used; the
/// GlobalPlatform test keys only when asked for by name.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("keys"), help: ArgumentHelp(
        "Key file (JSON: kvn, enc, mac, dek, mode); see dmboot-keys(5). Must not be readable by others.",
        valueName: "file"))
    var keyFile: String?

    @Option(name: .customLong("key-enc"), help: ArgumentHelp("Key-ENC in hex (visible in ps: prefer --keys).", valueName: "hex"))
    var keyEnc: String?

    @Option(name: .customLong("key-mac"), help: ArgumentHelp("Key-MAC in hex.", valueName: "hex"))
    var keyMac: String?

    @Option(name: .customLong("key-dek"), help: ArgumentHelp("Key-DEK in hex.", valueName: "hex"))
    var keyDek: String?

    @Option(help: ArgumentHelp("Key version number in hex for --key-* (00: whatever the card has).", valueName: "hex"))
    var kvn: String?

    @Flag(help: "Use S16 mode (16-byte challenges, cryptograms and MACs) with --key-* or the environment.")
    var s16 = false

    @Flag(help: "Use the GlobalPlatform default test keys 40..4F (development cards only; prints a warning).")
    var gpTestKeys = false

    static let environmentNames = ["DMBOOT_KEYS", "DMBOOT_KEY_ENC", "DMBOOT_KEY_MAC", "DMBOOT_KEY_DEK", "DMBOOT_KVN"]

    func validate() throws {
        let sources = [keyFile != nil, keyEnc != nil || keyMac != nil || keyDek != nil, gpTestKeys].filter { $0 }.count
        guard sources <= 1 else { throw ValidationError("give one key source: --keys, --key-enc/--key-mac/--key-dek, or --gp-test-keys") }
        if keyEnc != nil || keyMac != nil || keyDek != nil {
            guard keyEnc != nil, keyMac != nil, keyDek != nil else {
                throw ValidationError("--key-enc, --key-mac and --key-dek go together")
            }
        }
    }

    /// The keys and challenge mode, from the first source given.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (SCP03Keys, ChallengeMode) {
        let mode: String? = s16 ? "S16" : nil
        if let keyFile { return try KeyFile.load(path: keyFile) }
        if let keyEnc, let keyMac, let keyDek {
            return try KeyFile.parse(kvn: kvn ?? "00", enc: keyEnc, mac: keyMac, dek: keyDek, mode: mode,
                                     source: "--key-enc/--key-mac/--key-dek")
        }
        if gpTestKeys {
            Output.progress("dmboot: warning: using the GlobalPlatform default test keys (40..4F); never on production cards")
            let version = try kvn.map { try Hex.decode($0).first ?? 0 } ?? 0
            return (SCP03Keys.globalPlatformTestKeys(version: version), s16 ? .s16 : .s8)
        }
        if let path = environment["DMBOOT_KEYS"] { return try KeyFile.load(path: path) }
        if let enc = environment["DMBOOT_KEY_ENC"], let mac = environment["DMBOOT_KEY_MAC"],
           let dek = environment["DMBOOT_KEY_DEK"] {
            return try KeyFile.parse(kvn: environment["DMBOOT_KVN"] ?? kvn ?? "00", enc: enc, mac: mac, dek: dek,
                                     mode: mode, source: "the DMBOOT_KEY_* environment variables")
        }
        throw KeyError.missing
    }
}

/// The secure channel a command asks for.
struct ChannelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SCP03 security level in hex: 00, 01, 03, 11, 13, 31 or 33.", valueName: "hex"))
    var level = "33"

    func securityLevel() throws -> SecurityLevel {
        do {
            return try SecurityLevel(text: level)
        } catch let error as SecureChannelError {
            throw ValidationError("--level: \(error)")
        }
    }

    func validate() throws {
        _ = try securityLevel()
    }
}
