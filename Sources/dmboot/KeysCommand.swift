import APDU
import ArgumentParser
import CardCrypto
import CommandLineSupport
import Foundation
import JSONOutput
import KeyCustody
import SecureChannel

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Key custody: check the SCP03 keys a source gives, by their check values; rotate a card's keys.",
        subcommands: [KeysCheckCommand.self, KeysRotateCommand.self])
}

/// `dmboot keys check`: what a technician compares with the card vendor's
/// key sheet. Only key check values are printed, never a key.
struct KeysCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print the key check values (KCV) of the keys a source gives for one card; never the keys.",
        discussion: """
        The AES KCV is the first 3 bytes of AES-ECB(key, 16 × 01). With --diversify the source holds master keys \
        and the KCVs are those of the card keys diversified for --kdd, the 10 bytes of key diversification data \
        that open the card's INITIALIZE UPDATE response. A key table needs --kdd or --iccid to pick the card's row.
        """)

    @OptionGroup var keyOptions: KeyOptions

    @Option(help: ArgumentHelp("The card's key diversification data (10 bytes hex), for --diversify or a key table.",
                               valueName: "hex"))
    var kdd: String?

    @Option(help: ArgumentHelp("The card's ICCID, to pick its row of a key table keyed by ICCID.", valueName: "digits"))
    var iccid: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if keyOptions.diversify != nil && kdd == nil {
            throw ValidationError("--diversify needs --kdd: the card's 10 bytes of key diversification data")
        }
        if let kdd {
            guard let bytes = try? Hex.decode(kdd), bytes.count == KDF3.kddLength else {
                throw ValidationError("--kdd is 10 bytes in hex (20 digits)")
            }
        }
    }

    func run() throws {
        let resolved = try keyOptions.load()
        let kddBytes = try kdd.map(Hex.decode) ?? [UInt8](repeating: 0, count: KDF3.kddLength)
        let keys: CardStaticKeys
        var values: [(StaticKeyRole, String)] = []
        switch resolved.source {
        case let provider as CardKeyProvider:
            if case .table = provider.source, kdd == nil, iccid == nil {
                throw ValidationError("a key table needs --kdd or --iccid to pick the card's row")
            }
            keys = try provider.keys(kdd: kddBytes, iccid: iccid)
            if keys.keysInHostMemory == nil, case .token(let key, _) = provider.source {
                // One static key in the token for ENC, MAC and DEK alike, checked inside it.
                let kcv = Hex.encode(try key.keyCheckValue())
                values = StaticKeyRole.allCases.map { ($0, kcv) }
            }
        case let fixed as StaticKeySource:
            keys = try CardStaticKeys(hostKeys: fixed.keys.copy())
        default:
            throw ValidationError("keys check does not know this key source")
        }
        defer { keys.wipe() }
        if let hostKeys = keys.keysInHostMemory {
            values = try StaticKeyRole.allCases.map { ($0, Hex.encode(try KeyCheckValue.aes(hostKeys.key($0)))) }
        }
        if output.json {
            try Output.json(KeyCheckReport(
                keyVersion: Hex.encode([keys.version]), bits: keys.bits, diversification: keyOptions.diversify?.rawValue,
                keyDiversificationData: kdd.map { $0.uppercased() },
                kcv: Dictionary(uniqueKeysWithValues: values.map { ($0.0.rawValue, $0.1) })))
            return
        }
        if let method = keyOptions.diversify, let kdd {
            Output.line("diversified  \(method.rawValue) with KDD \(kdd.uppercased())")
        }
        Output.line("key version  \(Hex.encode([keys.version]))  AES-\(keys.bits)")
        for (role, kcv) in values {
            Output.line("\(role.rawValue)          KCV \(kcv)")
        }
    }
}

/// `keys check --json`: check values by role (ENC, MAC, DEK), never a key.
struct KeyCheckReport: Encodable {
    let keyVersion: String
    let bits: Int
    @NullWhenAbsent var diversification: String?
    @NullWhenAbsent var keyDiversificationData: String?
    let kcv: [String: String]
}
