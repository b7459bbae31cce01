import APDU
import ArgumentParser
import CardCrypto
import CommandLineSupport
import DMBootstrap
import Foundation
import JSONOutput
import LocalFiles

struct AuthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "OMA DM authentication helpers: digests, x-syncml-hmac, GBA bootstrap keys.",
        subcommands: [AuthDigestCommand.self, AuthHMACSignCommand.self, AuthHMACVerifyCommand.self, AuthGBACommand.self])
}

struct AuthDigestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest", abstract: "The Cred digest H(B64(H(user:password)):nonce), base64, for syncml:auth-md5 or -sha256.")

    @Option(help: ArgumentHelp("The userid.", valueName: "name"))
    var user: String

    @Option(help: ArgumentHelp("File holding the password (else $DMBOOT_PASSWORD).", valueName: "file"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("The nonce, base64 as the Chal carries it.", valueName: "base64"))
    var nonce: String

    @Option(help: ArgumentHelp("md5 or sha256.", valueName: "algorithm"))
    var algorithm = "md5"

    func validate() throws {
        guard DMAuthentication.DigestAlgorithm(rawValue: algorithm) != nil else { throw ValidationError("--algorithm takes md5 or sha256") }
        guard Data(base64Encoded: nonce) != nil else { throw ValidationError("--nonce is not base64") }
    }

    func run() throws {
        guard let password = try SecretInput.text(file: passwordFile, environment: "DMBOOT_PASSWORD") else {
            throw PushError.missingSecret("password (--password-file or DMBOOT_PASSWORD)")
        }
        let digest = try DMAuthentication.digest(username: user, password: password, nonce: [UInt8](Data(base64Encoded: nonce)!),
                                                 algorithm: DMAuthentication.DigestAlgorithm(rawValue: algorithm)!)
        Output.line(Data(digest).base64EncodedString())
    }
}

/// The integrity key of x-syncml-hmac: the AAuthSecret bytes.
struct IntegrityKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("File holding the integrity key (AAuthSecret; else $DMBOOT_HMAC_KEY).", valueName: "file"))
    var keyFile: String?

    func key() throws -> SecretBytes {
        guard let key = try SecretInput.read(file: keyFile, environment: "DMBOOT_HMAC_KEY") else {
            throw PushError.missingSecret("integrity key (--key-file or DMBOOT_HMAC_KEY)")
        }
        return key
    }
}

struct AuthHMACSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmac-sign", abstract: "Print the x-syncml-hmac header value for a message: HMAC-SHA256(K, Timestamp:Msg).")

    @Argument(help: ArgumentHelp("The message body (WBXML or XML).", valueName: "file"))
    var file: String

    @OptionGroup var keyOptions: IntegrityKeyOptions

    @Option(help: ArgumentHelp("The ServerId parameter.", valueName: "id"))
    var serverID: String?

    @Option(help: ArgumentHelp("YYYY-MM-DDThh:mm:ssZ (default: now, UTC).", valueName: "time"))
    var timestamp: String?

    func run() throws {
        let stamp = timestamp ?? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: Date())
        }()
        let header = try SyncMLHMACHeader.sign(message: [UInt8](try InputFile.read(file, limit: InputFile.documentLimit)),
                                              key: try keyOptions.key(), serverID: serverID, timestamp: stamp)
        Output.line(header.description)
    }
}

struct AuthHMACVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hmac-verify", abstract: "Check a message against its x-syncml-hmac header (comma or semicolon form).")

    @Argument(help: ArgumentHelp("The message body.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The x-syncml-hmac header value.", valueName: "value"))
    var header: String

    @OptionGroup var keyOptions: IntegrityKeyOptions

    func run() throws {
        let parsed = try SyncMLHMACHeader(parsing: header)
        try parsed.verify(message: [UInt8](try InputFile.read(file, limit: InputFile.documentLimit)), key: try keyOptions.key())
        Output.line("x-syncml-hmac verified\(parsed.serverID.map { " (ServerId \($0))" } ?? ""), Timestamp \(parsed.timestamp)")
    }
}

struct AuthGBACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gba-keys",
        abstract: "Derive DMBIK and DMBEK from Ks_(ext/int)_NAF (TS 33.220 Annex B, P0 \"dm-bik\"/\"dm-bek\").")

    @Option(help: ArgumentHelp("File holding Ks_(ext/int)_NAF as raw bytes (else $DMBOOT_KS_NAF as hex).", valueName: "file"))
    var ksNAFFile: String?

    @Option(help: ArgumentHelp("Write the keys (JSON, hex) to this file, mode 0600.", valueName: "file"))
    var out: String?

    @Flag(help: "Print the keys on stdout.")
    var revealSecrets = false

    func run() throws {
        let ks: [UInt8]
        if let ksNAFFile {
            ks = try SecretFile.read(ksNAFFile)
        } else if let hex = ProcessInfo.processInfo.environment["DMBOOT_KS_NAF"] {
            ks = try Hex.decode(hex)
        } else {
            throw PushError.missingSecret("Ks_NAF (--ks-naf-file or DMBOOT_KS_NAF)")
        }
        let keys = try GBAKeyDerivation.bootstrapKeys(ksNAF: SecretBytes(ks))
        let object = ["DMBIK": keys.integrity.exposedCopy().hexString, "DMBEK": keys.encryption.exposedCopy().hexString]
        if let out {
            try PrivateFile.write(try JSONOutput.line(object).dropLast(), to: out)
            Output.line("DMBIK and DMBEK written to \(out)")
        }
        if revealSecrets {
            try Output.json(object)
        } else if out == nil {
            Output.line("DMBIK <redacted 32 bytes>, DMBEK <redacted 32 bytes>; --out FILE or --reveal-secrets to get them")
        }
    }
}
