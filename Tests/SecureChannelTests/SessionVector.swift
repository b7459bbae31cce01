import APDU
import CardCrypto
import Foundation
import SecureChannel

/// One recorded SCP03 session from the known-answer files (schema in
/// Vectors/README.md, copied with their provenance from shared/vectors/scp03).
struct SessionVector: Decodable {
    struct Keys: Decodable { let enc: String, mac: String, dek: String }
    struct Exchange: Decodable { let command: String, response: String }
    struct Step: Decodable {
        let plain_command: String
        let wrapped_command: String?
        let wrapped_response: String?
        let plain_response: String?
    }

    let id: String
    let keys: Keys
    let kvn: String
    let host_challenge: String
    let security_level: String
    let s_mode: Int
    let sd_aid: String?
    let quirks: [String]
    let initialize_update: Exchange
    let external_authenticate: Exchange
    let steps: [Step]

    var staticKeys: SCP03Keys {
        get throws {
            try SCP03Keys(version: [UInt8](hex: kvn)[0], enc: SecretBytes([UInt8](hex: keys.enc)),
                          mac: SecretBytes([UInt8](hex: keys.mac)), dek: SecretBytes([UInt8](hex: keys.dek)))
        }
    }

    var mode: ChallengeMode { s_mode == 16 ? .s16 : .s8 }
    var level: SecurityLevel { get throws { try SecurityLevel(text: security_level) } }

    var compatibility: SCP03Compatibility {
        var options: SCP03Compatibility = []
        if quirks.contains("encrypt_empty") { options.insert(.encryptEmptyCommandData) }
        if quirks.contains("force_cla_80") { options.insert(.proprietaryClassOnWrappedCommands) }
        return options
    }

    static func load(_ file: String) throws -> [SessionVector] {
        struct File: Decodable { let vectors: [SessionVector] }
        return try JSONDecoder().decode(File.self, from: VectorFiles.data(file)).vectors
    }

    static let files = [
        "sessions_gppro_jcop4.json", "sessions_javacard_express.json", "sessions_kaoh_globalplatform.json",
        "sessions_pysim.json", "sessions_samsung_openscp.json", "sessions_securo_gp.json", "sessions_yubico_dotnet.json",
    ]
}

/// The known-answer files in Tests/Vectors/scp03, copied with their
/// provenance from the project's shared vectors.
enum VectorFiles {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Vectors/scp03")

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: folder.appendingPathComponent(name))
    }
}

/// Drops the Le field: Le is not MACed, and implementations differ on it.
func withoutLe(_ hex: String) throws -> CommandAPDU {
    var command = try CommandAPDU(bytes: [UInt8](hex: hex))
    command.expectedLength = nil
    return command
}
