import ArgumentParser
import CommandLineSupport
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
            BootstrapTextOutput.print(decoded, problems: problems, revealSecrets: revealSecrets)
            try validator.validate(decoded, strict: policy.strict)
            return
        }
        // One JSON object either way: the decoded document, with the failure's fields when it is refused.
        let object = BootstrapJSON.object(decoded, problems: problems, revealSecrets: revealSecrets)
        do {
            try validator.validate(decoded, strict: policy.strict)
        } catch {
            try Output.json(ReportWithFailure(object, failure: FailureReport(error)))
            throw ReportedFailure(error: error)
        }
        try Output.json(object)
    }
}

/// The human form of a decoded bootstrap (DMBootstrap's BootstrapText) and its problems.
enum BootstrapTextOutput {
    static func print(_ decoded: DecodedBootstrap, problems: [AccountProblem], revealSecrets: Bool) {
        for line in BootstrapText.lines(decoded, revealSecrets: revealSecrets) { Output.line(line) }
        for problem in problems { Output.progress(problem.severity == .error ? "problem: \(problem)" : "\(problem)") }
    }
}

extension BootstrapDecoder.Format: ExpressibleByArgument {}
