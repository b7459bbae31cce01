import ArgumentParser
import DMBootstrap
import Foundation
import Provisioning

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a bootstrap file (WBXML or XML SyncML DM, TNDS, OMA CP w7) into DM accounts, offline.",
        discussion: "Secrets (AAuthSecret, AAuthData, ClientSecretKey, the PSK identities) are shown as their size unless --reveal-secrets.")

    @Argument(help: ArgumentHelp("The bootstrap file ('-' for standard input).", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("auto, wbxml, xml, tnds or cp.", valueName: "format"))
    var format: BootstrapDecoder.Format = .auto

    @Flag(help: "Show secret node values.")
    var revealSecrets = false

    @OptionGroup var policyOptions: PolicyOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let bytes: [UInt8]
        if file == "-" {
            bytes = [UInt8](try InputFile.readStandardInput(limit: InputFile.documentLimit))
        } else {
            bytes = [UInt8](try InputFile.read(file, limit: InputFile.documentLimit))
        }
        let policy = try policyOptions.load()
        let decoded = try BootstrapDecoder().decode(bytes, format: format)
        let validator = AccountValidator()
        let problems = validator.problems(in: decoded.accounts)
        guard output.json else {
            BootstrapText.print(decoded, problems: problems, revealSecrets: revealSecrets)
            try validator.validate(decoded, strict: policy.strict)
            return
        }
        // One JSON object either way: the decoded document, with the failure's fields when it is refused.
        var object = BootstrapJSON.object(decoded, problems: problems, revealSecrets: revealSecrets)
        do {
            try validator.validate(decoded, strict: policy.strict)
        } catch {
            object.merge(FailureReport.fields(for: error)) { $1 }
            Output.json(object)
            throw ReportedFailure(error: error)
        }
        Output.json(object)
    }
}

/// The human form of a decoded bootstrap.
enum BootstrapText {
    static func print(_ decoded: DecodedBootstrap, problems: [AccountProblem], revealSecrets: Bool) {
        Output.line("\(decoded.documentType.rawValue) in \(decoded.encoding.rawValue)\(decoded.publicID.map { " (\($0))" } ?? "")")
        for account in decoded.accounts {
            Output.line("./DMAcc/\(account.name)  [\(account.source.rawValue)]  ServerID \(account.serverID ?? "(none)")")
            for node in account.nodes where node.value != nil {
                let shown = BootstrapJSON.node(for: node, revealSecrets: revealSecrets)
                let value = shown["value"] ?? shown["base64"].map { "base64:\($0)" } ?? shown["redacted"] ?? ""
                Output.line("  \(node.path)  (\(node.format.rawValue))  \(value)")
            }
        }
        for path in decoded.otherNodes { Output.line("not an account node, not installed: \(path)") }
        for command in decoded.ignoredCommands { Output.line("command not run: \(command)") }
        for problem in problems { Output.progress(problem.severity == .error ? "problem: \(problem)" : "\(problem)") }
    }
}

extension BootstrapDecoder.Format: ExpressibleByArgument {}
