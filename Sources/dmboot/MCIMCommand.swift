import APDU
import ArgumentParser
import CardCrypto
import CommandLineSupport
import Foundation
import JSONOutput
import LocalFiles
import MCIM
import SecureChannel

struct MCIMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcim",
        abstract: "Protected MCIM provisioning blobs (3GPP S3-090792): pack for a device, unpack on it.",
        discussion: "The byte layout is dmboot's format 1, documented in dmboot(1), MCIM BLOB.",
        subcommands: [MCIMPackCommand.self, MCIMUnpackCommand.self])
}

struct MCIMPackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack", abstract: "Protect a payload for the device whose RSA public key (PK_D) is given.")

    @Option(help: ArgumentHelp("The device's RSA public key (PEM).", valueName: "file"))
    var publicKey: String

    @Option(help: ArgumentHelp("The payload (IMSI, Ki, algorithm data...).", valueName: "file"))
    var payload: String

    @Option(help: ArgumentHelp("mcim, algorithm or update.", valueName: "tag"))
    var tag = "mcim"

    @Option(help: ArgumentHelp("Where to write the blob.", valueName: "file"))
    var out: String

    func validate() throws {
        guard MCIMBlob.Tag.allCases.contains(where: { $0.name == tag }) else {
            throw ValidationError("--tag takes mcim, algorithm or update")
        }
    }

    func run() throws {
        let kind = MCIMBlob.Tag.allCases.first { $0.name == tag }!
        var content = [UInt8](try InputFile.read(payload, limit: InputFile.secretLimit))
        defer { Secure.wipe(&content) }
        let blob = try MCIMBlob.pack(payload: content, tag: kind, publicKeyPEM: [UInt8](try InputFile.read(publicKey, limit: InputFile.secretLimit)))
        try Data(blob).write(to: URL(fileURLWithPath: out))
        Output.line("packed \(content.count) payload bytes (\(kind.name)) into \(blob.count) bytes: \(out)")
    }
}

struct MCIMUnpackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpack",
        abstract: "Check an MCIM blob's MAC, then decrypt it with the device's private key.")

    @Argument(help: ArgumentHelp("The blob.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The device's RSA private key (PEM); only its owner may read it.", valueName: "file"))
    var key: String

    @Option(help: ArgumentHelp("Write the payload here (mode 0600).", valueName: "file"))
    var out: String?

    @Flag(help: "Print the payload (hex) on stdout.")
    var revealSecrets = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        var pem = try SecretFile.read(key)
        defer { Secure.wipe(&pem) }
        let contents = try MCIMBlob.unpack([UInt8](try InputFile.read(file, limit: InputFile.documentLimit)), privateKeyPEM: pem)
        if let out { try PrivateFile.write(Data(contents.payload), to: out) }
        let shown = revealSecrets ? Hex.encode(contents.payload) : "<redacted \(contents.payload.count) bytes>"
        if output.json {
            try Output.json(UnpackReport(tag: contents.tag.name, version: Int(contents.version),
                                         payloadBytes: contents.payload.count, payload: shown, out: out))
        } else {
            Output.line("MAC verified; tag \(contents.tag.name), data version \(contents.version), payload \(shown)\(out.map { " -> \($0)" } ?? "")")
        }
    }
}

/// `mcim unpack --json`; the payload is redacted unless --reveal-secrets.
struct UnpackReport: Encodable {
    let tag: String
    let version: Int
    let payloadBytes: Int
    let payload: String
    @NullWhenAbsent var out: String?
}
