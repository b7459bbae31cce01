import APDU
import ArgumentParser
import CommandLineSupport
import Foundation
import KeyCustody
import KeySources
import SecureChannel

/// Where the static SCP03 keys come from. Exactly one source is used; the
/// GlobalPlatform test keys only when asked for by name.
struct KeyOptions: ParsableArguments {
    @Option(name: .customLong("keys"), help: ArgumentHelp(
        "Key source: a key file (JSON: kvn, enc, mac, dek, mode; not readable by others), a PKCS#11 URI "
            + "(pkcs11:token=...;object=...?module-path=...&pin-source=file:...) or a per-card key table (.csv); see dmboot-keys(5).",
        valueName: "source"))
    var keyFile: String?

    @Option(name: .customLong("key-enc"), help: ArgumentHelp("Key-ENC in hex (visible in ps: prefer --keys).", valueName: "hex"))
    var keyEnc: String?

    @Option(name: .customLong("key-mac"), help: ArgumentHelp("Key-MAC in hex.", valueName: "hex"))
    var keyMac: String?

    @Option(name: .customLong("key-dek"), help: ArgumentHelp("Key-DEK in hex.", valueName: "hex"))
    var keyDek: String?

    @Option(help: ArgumentHelp("Key version number in hex for --key-* and a PKCS#11 key (00: whatever the card has).", valueName: "hex"))
    var kvn: String?

    @Flag(help: "Use S16 mode (16-byte challenges, cryptograms and MACs) with --key-*, the environment, a token or a table.")
    var s16 = false

    @Flag(help: "Use the GlobalPlatform default test keys 40..4F (development cards only; prints a warning).")
    var gpTestKeys = false

    @Option(help: ArgumentHelp(
        "Treat the keys as master keys and diversify them for each card (kdf3: GlobalPlatformPro's KDF3 with the card's KDD).",
        valueName: "method"))
    var diversify: CardKeyProvider.Diversification?

    @Option(help: ArgumentHelp(
        "PKCS#11 URI of the AES key that decrypts a key table's ENC/MAC/DEK columns (pySim's column encryption).",
        valueName: "uri"))
    var keyTableKek: String?

    static let environmentNames = KeySourceResolver.environmentNames

    var keySourceOptions: KeySources.KeyOptions {
        KeySources.KeyOptions(keys: keyFile, enc: keyEnc, mac: keyMac, dek: keyDek, kvn: kvn, s16: s16,
                              globalPlatformTestKeys: gpTestKeys, diversification: diversify, keyTableKEK: keyTableKek)
    }

    func validate() throws {
        do {
            _ = try KeySourceResolver(environment: [:], warn: { _ in }).checkShape(keySourceOptions)
        } catch let error as KeyError {
            throw ValidationError("\(error)")
        }
    }

    /// The key source and challenge mode, from the one source given (see KeySourceResolver).
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ResolvedKeys {
        try KeySourceResolver(environment: environment, warn: { Output.progress("dmboot: \($0)") })
            .resolve(keySourceOptions)
    }
}

/// The secure channel a command asks for.
struct ChannelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "SCP03 security level in hex: 00, 01, 03, 11, 13, 31 or 33; none (read and provision only) reads in clear, when the policy's allowUnprotectedRead allows it.",
        valueName: "hex"))
    var level = "33"

    /// No secure channel at all: a card read in clear (`read`, `provision`).
    static let none = "none"

    /// The level of a command that needs a secure channel.
    func securityLevel() throws -> SecurityLevel {
        guard let level = try readLevel() else {
            throw ValidationError("--level none: only read and provision read a card without a secure channel")
        }
        return level
    }

    /// The level of a card read; nil for `--level none`.
    func readLevel() throws -> SecurityLevel? {
        guard level != Self.none else { return nil }
        do {
            return try SecurityLevel(text: level)
        } catch let error as SecureChannelError {
            throw ValidationError("--level: \(error)")
        }
    }

    func validate() throws {
        _ = try readLevel()
    }
}

extension CardKeyProvider.Diversification: ExpressibleByArgument {}
