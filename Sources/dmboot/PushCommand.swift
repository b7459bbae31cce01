import APDU
import ArgumentParser
import CardCrypto
import CommandLineSupport
import DMBootstrap
import DMTree
import Foundation
import Provisioning

struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Pushed DM bootstraps: verify their HMAC, install them, or build them.",
        subcommands: [PushVerifyCommand.self, PushInstallCommand.self, PushBuildCommand.self])
}

/// The shared secret of a pushed bootstrap, from files and the environment.
struct PushSecretOptions: ParsableArguments {
    @Option(help: ArgumentHelp("File holding the USERPIN (else $DMBOOT_PUSH_PIN).", valueName: "file"))
    var pinFile: String?

    @Option(help: ArgumentHelp("File holding a shared-secret NETWORKID (else $DMBOOT_NETWORK_ID).", valueName: "file"))
    var networkIDFile: String?

    @Option(help: ArgumentHelp("Legacy NETWORKID: the IMSI (GSM/UMTS). Not a secret; refused unless allowed.", valueName: "digits"))
    var imsi: String?

    @Option(help: ArgumentHelp("Legacy NETWORKID: the ESN (CDMA), 8 hex or 11 decimal digits. Not a secret.", valueName: "esn"))
    var esn: String?

    @Option(help: ArgumentHelp("File holding the raw key of another key type (else $DMBOOT_PUSH_KEY).", valueName: "file"))
    var keyFile: String?

    @Flag(help: "Accept a NETWORKID that is only an IMSI or ESN (anyone knowing it can forge a bootstrap).")
    var allowLegacyNetworkID = false

    func networkID() throws -> NetworkID? {
        if let secret = try SecretInput.read(file: networkIDFile, environment: "DMBOOT_NETWORK_ID") { return .sharedSecret(secret) }
        if let imsi { return try NetworkID.parseIMSI(imsi) }
        if let esn { return try NetworkID.parseESN(esn) }
        return nil
    }

    func secret(for keyType: PushContentType.KeyType) throws -> PushSecret {
        let pin = try SecretInput.read(file: pinFile, environment: "DMBOOT_PUSH_PIN")
        switch keyType {
        case .userPIN:
            guard let pin else { throw PushError.missingSecret("USERPIN (--pin-file or DMBOOT_PUSH_PIN)") }
            return .userPIN(pin)
        case .networkID:
            guard let id = try networkID() else {
                throw PushError.missingSecret("NETWORKID (--network-id-file, DMBOOT_NETWORK_ID, --imsi or --esn)")
            }
            return .networkID(id)
        case .userPINNetworkID:
            guard let pin, let id = try networkID() else {
                throw PushError.missingSecret("USERPIN and NETWORKID for USERPIN_NETWORKID")
            }
            return .userPINNetworkID(pin: pin, networkID: id)
        case .other(let name):
            guard let key = try SecretInput.read(file: keyFile, environment: "DMBOOT_PUSH_KEY") else {
                throw PushError.missingSecret("key for key type \(name) (--key-file or DMBOOT_PUSH_KEY)")
            }
            return .raw(key)
        }
    }
}

/// Verifies a pushed bootstrap and decodes it; shared by verify and install.
struct PushedBootstrap {
    let contentType: PushContentType
    let body: [UInt8]
    let decoded: DecodedBootstrap
    let warnings: [AccountProblem]

    init(file: String, contentType value: String, secrets: PushSecretOptions, policy: ProvisioningPolicy) throws {
        contentType = try PushContentType(parsing: value)
        body = [UInt8](try InputFile.read(file, limit: InputFile.documentLimit))
        let secret = try secrets.secret(for: contentType.keyType)
        try PushAuthenticator.verify(body: body, contentType: contentType, secret: secret,
                                     allowLegacyNetworkID: secrets.allowLegacyNetworkID || policy.allowLegacyNetworkID)
        decoded = try BootstrapDecoder().decode(body, format: .wbxml)
        warnings = try AccountValidator().validate(decoded, strict: policy.strict)
    }

    var json: PushReport {
        PushReport(keyType: "\(contentType.keyType)", accounts: decoded.accounts.map(AccountName.init),
                   warnings: ValidationWarnings.json(warnings))
    }
}

struct PushVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a pushed bootstrap's HMAC (Content-Type digest) and decode it; write nothing.")

    @Argument(help: ArgumentHelp("The WBXML body of the push.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The push's Content-Type value: application/vnd.syncml.dm+wbxml;KEYTYPE;DIGEST.", valueName: "value"))
    var contentType: String

    @OptionGroup var secrets: PushSecretOptions
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let pushed = try PushedBootstrap(file: file, contentType: contentType, secrets: secrets, policy: try policyOptions.load())
        if output.json {
            try Output.json(pushed.json)
        } else {
            ValidationWarnings.print(pushed.warnings)
            Output.line("HMAC verified (\(pushed.contentType.keyType)); \(pushed.decoded.accounts.count) account(s): \(pushed.decoded.accounts.map(\.name).joined(separator: ", "))")
        }
    }
}

struct PushInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Verify a pushed bootstrap and install its accounts (provenance: push) in one transaction.")

    @Argument(help: ArgumentHelp("The WBXML body of the push.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The push's Content-Type value.", valueName: "value"))
    var contentType: String

    @OptionGroup var secrets: PushSecretOptions
    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var treeOptions: TreeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let policy = try policyOptions.load()
        let tree = try treeOptions.pathForWriting()
        let pushed = try PushedBootstrap(file: file, contentType: contentType, secrets: secrets, policy: policy)
        let refused = policy.refusedServers(pushed.decoded.accounts.compactMap(\.serverID))
        guard refused.isEmpty else { throw PolicyError.serversNotAllowed(refused) }
        let report = try TreeInstaller(path: tree, busyTimeout: treeOptions.busyTimeout)
            .install(pushed.decoded.accounts, provenance: Provenance(source: .push, document: (file as NSString).lastPathComponent),
                     prune: false, dryRun: false)
        if output.json {
            var object = pushed.json
            object.installed = PushReport.Installed(added: report.added, replaced: report.replaced, unchanged: report.unchanged,
                                                    tree: tree)
            try Output.json(object)
        } else {
            ValidationWarnings.print(pushed.warnings)
            Output.line("HMAC verified (\(pushed.contentType.keyType)); into \(tree): \(report.added.count) added, \(report.replaced.count) replaced, \(report.unchanged.count) unchanged")
        }
    }
}

struct PushBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Sign a WBXML bootstrap for a push: print the Content-Type, optionally copy the body.",
        discussion: "The bootstrap must be WBXML (pushes cannot carry XML); Debian's xml2wbxml encodes an XML one.")

    @Argument(help: ArgumentHelp("The WBXML bootstrap.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("NETWORKID, USERPIN, USERPIN_NETWORKID or another key type name.", valueName: "type"))
    var keyType: String

    @Option(help: ArgumentHelp("Write the body here too (mode 0600).", valueName: "file"))
    var out: String?

    @OptionGroup var secrets: PushSecretOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let type = try PushContentType(parsing: "\(PushContentType.mimeType);\(keyType);\(String(repeating: "0", count: 40))").keyType
        let body = [UInt8](try InputFile.read(file, limit: InputFile.documentLimit))
        _ = try WBXMLDecoder().decode(body)
        let secret = try secrets.secret(for: type)
        if secret.isLegacyNetworkIDOnly && !secrets.allowLegacyNetworkID { throw PushError.legacyNetworkIDRefused }
        let contentType = try PushAuthenticator.contentType(body: body, secret: secret, keyType: type)
        if let out { try PrivateFile.write(Data(body), to: out) }
        if output.json {
            try Output.json(PushBuildReport(contentType: contentType.description, bodyBytes: body.count, body: out ?? file))
        } else {
            Output.line(contentType.description)
        }
    }
}

/// `push verify --json`, and `push install --json` with what the install did.
struct PushReport: Encodable {
    struct Installed: Encodable {
        let added: [String]
        let replaced: [String]
        let unchanged: [String]
        let tree: String
    }

    let keyType: String
    var verified = true
    let accounts: [AccountName]
    let warnings: [BootstrapJSON.Warning]
    var installed: Installed?

    enum CodingKeys: String, CodingKey {
        case keyType, verified, accounts, warnings
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keyType, forKey: .keyType)
        try container.encode(verified, forKey: .verified)
        try container.encode(accounts, forKey: .accounts)
        try container.encode(warnings, forKey: .warnings)
        try installed?.encode(to: encoder)
    }
}

/// `push build --json`.
struct PushBuildReport: Encodable {
    let contentType: String
    let bodyBytes: Int
    let body: String
}
