import APDU
import Foundation
import KeyCustody
import SecureChannel

/// What a `--keys` argument (or an `scp03 open keys` word) names. This is the
/// one place such text is interpreted: a new kind of key store (a PKCS#11
/// token URI, a per-card key table) is a new case here and a new branch of
/// `KeySourceResolver.open(_:mode:)`.
public enum KeyLocation: Equatable, Sendable {
    /// A JSON key file, dmboot-keys(5).
    case file(path: String)
    /// An AES key in a PKCS#11 token, named by an RFC 7512 URI.
    case pkcs11(uri: String)
    /// A per-card key table: a CSV file (its name ends in .csv).
    case table(path: String)

    public init(parsing text: String) {
        if PKCS11URI.isPKCS11(text) {
            self = .pkcs11(uri: text)
        } else if text.lowercased().hasSuffix(".csv") {
            self = .table(path: text)
        } else {
            self = .file(path: text)
        }
    }
}

/// Everything a command line may say about keys; the resolver picks the one
/// source given.
public struct KeyOptions: Sendable {
    /// `--keys`: see `KeyLocation`.
    public var keys: String?
    /// `--key-enc`, `--key-mac`, `--key-dek` in hex, all three or none.
    public var enc: String?
    public var mac: String?
    public var dek: String?
    /// Key version for hex keys and test keys, one hex byte.
    public var kvn: String?
    /// S16 challenges with hex keys, test keys or environment keys (a key file states its own mode).
    public var s16 = false
    /// The GlobalPlatform default test keys 40..4F, only when asked for by name.
    public var globalPlatformTestKeys = false
    /// `--diversify`: the keys are master keys, diversified for each card.
    public var diversification: CardKeyProvider.Diversification?
    /// `--key-table-kek`: PKCS#11 URI of the key that decrypts a key table's key columns.
    public var keyTableKEK: String?

    public init(keys: String? = nil, enc: String? = nil, mac: String? = nil, dek: String? = nil, kvn: String? = nil,
                s16: Bool = false, globalPlatformTestKeys: Bool = false,
                diversification: CardKeyProvider.Diversification? = nil, keyTableKEK: String? = nil) {
        self.diversification = diversification
        self.keyTableKEK = keyTableKEK
        self.keys = keys
        self.enc = enc
        self.mac = mac
        self.dek = dek
        self.kvn = kvn
        self.s16 = s16
        self.globalPlatformTestKeys = globalPlatformTestKeys
    }

    var givesHexKeys: Bool { enc != nil || mac != nil || dek != nil }
}

/// A key source ready for the SCP03 host, with the challenge mode it was
/// configured for.
public struct ResolvedKeys: Sendable {
    public let source: any SCP03KeySource
    public let mode: ChallengeMode
    /// Where the keys came from, for messages; never the keys themselves.
    public let origin: String
    /// How the cards of these keys depart from Amendment D (a key file's
    /// "compatibility", dmboot-keys(5)); keys given as hex have none.
    public let compatibility: SCP03Compatibility

    public init(source: any SCP03KeySource, mode: ChallengeMode, origin: String, compatibility: SCP03Compatibility = []) {
        self.source = source
        self.mode = mode
        self.origin = origin
        self.compatibility = compatibility
    }
}

/// Turns key options into a key source, in one order for dmboot and
/// apdu-shell: `--keys`, hex keys, the test keys, then `DMBOOT_KEYS`, then
/// `DMBOOT_KEY_ENC`/`_MAC`/`_DEK` (with `DMBOOT_KVN`).
public struct KeySourceResolver: Sendable {
    public static let environmentNames = ["DMBOOT_KEYS", "DMBOOT_KEY_ENC", "DMBOOT_KEY_MAC", "DMBOOT_KEY_DEK", "DMBOOT_KVN"]

    public var environment: [String: String]
    /// Told when the test keys are used.
    public var warn: @Sendable (String) -> Void

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                warn: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.warn = warn
    }

    /// Refuses options that name two sources, or only part of the hex keys,
    /// before anything is read (argument validation).
    public func checkShape(_ options: KeyOptions) throws {
        if options.keyTableKEK != nil {
            guard let keys = options.keys, case .table = KeyLocation(parsing: keys) else {
                throw KeyError.malformed(source: "--key-table-kek", reason: "it goes with a key table: --keys TABLE.csv")
            }
        }
        let sources = [options.keys != nil, options.givesHexKeys, options.globalPlatformTestKeys].filter { $0 }.count
        guard sources <= 1 else { throw KeyError.conflictingSources }
        if options.givesHexKeys && (options.enc == nil || options.mac == nil || options.dek == nil) {
            throw KeyError.incompleteHexKeys
        }
    }

    public func resolve(_ options: KeyOptions) throws -> ResolvedKeys {
        try checkShape(options)
        return try resolveSource(options)
    }

    private func resolveSource(_ options: KeyOptions) throws -> ResolvedKeys {
        let mode: ChallengeMode = options.s16 ? .s16 : .s8
        if let keys = options.keys { return try open(KeyLocation(parsing: keys), mode: mode, options: options) }
        if let enc = options.enc, let mac = options.mac, let dek = options.dek {
            return try parsed(KeyFile.parse(kvn: options.kvn ?? "00", enc: enc, mac: mac, dek: dek,
                                            mode: options.s16 ? "S16" : nil, source: "--key-enc/--key-mac/--key-dek"),
                              origin: "--key-enc/--key-mac/--key-dek", options: options)
        }
        if options.globalPlatformTestKeys {
            warn("warning: using the GlobalPlatform default test keys (40..4F); never on production cards")
            let version: UInt8
            do {
                version = try options.kvn.map { try Hex.decode($0).first ?? 0 } ?? 0
            } catch {
                throw KeyError.malformed(source: "--kvn", reason: "not hex")
            }
            return try parsed((.globalPlatformTestKeys(version: version), mode), origin: "the GlobalPlatform test keys",
                          options: options)
        }
        if let path = environment["DMBOOT_KEYS"] {
            return try open(KeyLocation(parsing: path), mode: mode, options: options)
        }
        if let enc = environment["DMBOOT_KEY_ENC"], let mac = environment["DMBOOT_KEY_MAC"],
           let dek = environment["DMBOOT_KEY_DEK"] {
            let origin = "the DMBOOT_KEY_* environment variables"
            return try parsed(KeyFile.parse(kvn: environment["DMBOOT_KVN"] ?? options.kvn ?? "00", enc: enc, mac: mac,
                                            dek: dek, mode: options.s16 ? "S16" : nil, source: origin),
                              origin: origin, options: options)
        }
        throw KeyError.missing
    }

    /// The source a `KeyLocation` names. `mode` applies where the location
    /// does not state one itself. A token is logged in to and its key found,
    /// a table read and checked, here: before any card is touched.
    public func open(_ location: KeyLocation, mode: ChallengeMode, options: KeyOptions = KeyOptions()) throws -> ResolvedKeys {
        switch location {
        case .file(let path):
            let (keys, fileMode, compatibility) = try KeyFile.open(path: path)
            guard let diversification = options.diversification else {
                return ResolvedKeys(source: StaticKeySource(keys: keys), mode: fileMode, origin: path,
                                    compatibility: compatibility)
            }
            return ResolvedKeys(source: try CardKeyProvider(source: .host(keys), diversification: diversification),
                                mode: fileMode, origin: path, compatibility: compatibility)
        case .pkcs11(let text):
            let uri = try PKCS11URI(text)
            let token = try PKCS11Token(uri: uri, environment: environment)
            var version: UInt8 = 0x00
            if let kvn = options.kvn {
                guard let bytes = try? Hex.decode(kvn), bytes.count == 1 else {
                    throw KeyError.malformed(source: "--kvn", reason: "one hex byte, such as 30")
                }
                version = bytes[0]
            }
            let provider = try CardKeyProvider(source: .token(try token.secretKey(use: .cmac), version: version),
                                               diversification: options.diversification)
            return ResolvedKeys(source: provider, mode: mode, origin: "\(uri)")
        case .table(let path):
            let keyEncryptionKey = try options.keyTableKEK.map { text in
                try PKCS11Token(uri: PKCS11URI(text), environment: environment).secretKey(use: .decrypt)
            }
            let table = try KeyTable(path: path, encrypted: keyEncryptionKey != nil)
            let provider = try CardKeyProvider(source: .table(table, keyEncryptionKey: keyEncryptionKey),
                                               diversification: options.diversification)
            return ResolvedKeys(source: provider, mode: mode, origin: path)
        }
    }

    /// Keys in host memory: the same for every card, or master keys with --diversify.
    private func parsed(_ loaded: (SCP03Keys, ChallengeMode), origin: String, options: KeyOptions) throws -> ResolvedKeys {
        guard let diversification = options.diversification else {
            return ResolvedKeys(source: StaticKeySource(keys: loaded.0), mode: loaded.1, origin: origin)
        }
        let provider = try CardKeyProvider(source: .host(loaded.0), diversification: diversification)
        return ResolvedKeys(source: provider, mode: loaded.1, origin: origin)
    }
}
