import APDU
import Foundation
import SecureChannel

/// What a `--keys` argument (or an `scp03 open keys` word) names. This is the
/// one place such text is interpreted: a new kind of key store (a PKCS#11
/// token URI, a per-card key table) is a new case here and a new branch of
/// `KeySourceResolver.open(_:mode:)`.
public enum KeyLocation: Equatable, Sendable {
    /// A JSON key file, dmboot-keys(5).
    case file(path: String)

    public init(parsing text: String) {
        self = .file(path: text)
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

    public init(keys: String? = nil, enc: String? = nil, mac: String? = nil, dek: String? = nil, kvn: String? = nil,
                s16: Bool = false, globalPlatformTestKeys: Bool = false) {
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
        let sources = [options.keys != nil, options.givesHexKeys, options.globalPlatformTestKeys].filter { $0 }.count
        guard sources <= 1 else { throw KeyError.conflictingSources }
        if options.givesHexKeys && (options.enc == nil || options.mac == nil || options.dek == nil) {
            throw KeyError.incompleteHexKeys
        }
    }

    public func resolve(_ options: KeyOptions) throws -> ResolvedKeys {
        try checkShape(options)
        let mode: ChallengeMode = options.s16 ? .s16 : .s8
        if let keys = options.keys { return try open(KeyLocation(parsing: keys), mode: mode) }
        if let enc = options.enc, let mac = options.mac, let dek = options.dek {
            return try parsed(KeyFile.parse(kvn: options.kvn ?? "00", enc: enc, mac: mac, dek: dek,
                                            mode: options.s16 ? "S16" : nil, source: "--key-enc/--key-mac/--key-dek"),
                              origin: "--key-enc/--key-mac/--key-dek")
        }
        if options.globalPlatformTestKeys {
            warn("warning: using the GlobalPlatform default test keys (40..4F); never on production cards")
            let version: UInt8
            do {
                version = try options.kvn.map { try Hex.decode($0).first ?? 0 } ?? 0
            } catch {
                throw KeyError.malformed(source: "--kvn", reason: "not hex")
            }
            return ResolvedKeys(source: StaticKeySource(keys: .globalPlatformTestKeys(version: version)), mode: mode,
                                origin: "the GlobalPlatform test keys")
        }
        if let path = environment["DMBOOT_KEYS"] { return try open(KeyLocation(parsing: path), mode: mode) }
        if let enc = environment["DMBOOT_KEY_ENC"], let mac = environment["DMBOOT_KEY_MAC"],
           let dek = environment["DMBOOT_KEY_DEK"] {
            let origin = "the DMBOOT_KEY_* environment variables"
            return try parsed(KeyFile.parse(kvn: environment["DMBOOT_KVN"] ?? options.kvn ?? "00", enc: enc, mac: mac,
                                            dek: dek, mode: options.s16 ? "S16" : nil, source: origin),
                              origin: origin)
        }
        throw KeyError.missing
    }

    /// The source a `KeyLocation` names. `mode` applies where the location
    /// does not state one itself.
    public func open(_ location: KeyLocation, mode: ChallengeMode) throws -> ResolvedKeys {
        switch location {
        case .file(let path):
            let (keys, fileMode) = try KeyFile.load(path: path)
            return ResolvedKeys(source: StaticKeySource(keys: keys), mode: fileMode, origin: path,
                                compatibility: try KeyFile.compatibility(path: path))
        }
    }

    private func parsed(_ loaded: (SCP03Keys, ChallengeMode), origin: String) -> ResolvedKeys {
        ResolvedKeys(source: StaticKeySource(keys: loaded.0), mode: loaded.1, origin: origin)
    }
}
