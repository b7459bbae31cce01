import APDU
import ArgumentParser
import CardSession
import CardTransport
import CommandLineSupport
import DMTree
import DMBootstrap
import CardResults
import Foundation
import JSONOutput
import KeySources
import Provisioning
import StationPipeline
import StationResults

/// Where the DM tree lives and how long to wait for another writer.
struct TreeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The DM tree file (SQLite). Default: $DMBOOT_TREE, else $XDG_DATA_HOME/dmboot/tree.sqlite or ~/.local/share/dmboot/tree.sqlite.",
        valueName: "path"))
    var tree: String?

    @Option(help: ArgumentHelp("Seconds to wait while another dmboot writes the tree.", valueName: "seconds"))
    var busyTimeout: Double = 5

    func validate() throws {
        try NumberRange.check(busyTimeout, "--busy-timeout", 0...3600)
    }

    /// A tree named by --tree or $DMBOOT_TREE; nil for the default location.
    var explicitPath: String? {
        if let tree { return tree }
        if let path = ProcessInfo.processInfo.environment["DMBOOT_TREE"], !path.isEmpty { return path }
        return nil
    }

    var path: String { explicitPath ?? Self.defaultPath() }

    /// $XDG_DATA_HOME/dmboot/tree.sqlite, else $HOME/.local/share/dmboot/tree.sqlite.
    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (home as NSString).appendingPathComponent(".local/share")
        return (data as NSString).appendingPathComponent("dmboot/tree.sqlite")
    }

    /// The tree a command may create. Only the default location is made when
    /// missing: a named tree in a folder that does not exist is a typo, and
    /// creating that folder would scatter trees nobody finds again.
    func pathForWriting() throws -> String {
        guard let explicit = explicitPath else { return path }
        try InputFile.requireFolder(of: explicit, option: tree != nil ? "--tree" : "$DMBOOT_TREE")
        return explicit
    }

    func open() throws -> TreeStore {
        try TreeStore(path: path, create: false, busyTimeout: busyTimeout)
    }
}

/// The policy file: --policy, else $DMBOOT_POLICY, else the defaults.
struct PolicyFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Policy file (JSON); see dmboot(1), POLICY FILE.", valueName: "file"))
    var policy: String?

    func load() throws -> ProvisioningPolicy {
        if let policy { return try ProvisioningPolicy.load(path: policy) }
        if let path = ProcessInfo.processInfo.environment["DMBOOT_POLICY"], !path.isEmpty {
            return try ProvisioningPolicy.load(path: path)
        }
        return ProvisioningPolicy()
    }
}

struct PolicyOptions: ParsableArguments {
    @OptionGroup var file: PolicyFileOptions

    @Flag(help: "Refuse a bootstrap that has warnings (exit 42) or a card challenge that does not match (exit 20), as the policy's \"strict\": true does.")
    var strict = false

    func load() throws -> ProvisioningPolicy {
        var loaded = try file.load()
        if strict { loaded.strict = true }
        return loaded
    }
}

/// How every command shows validation warnings: on stderr as text, as a
/// "warnings" list in JSON.
enum ValidationWarnings {
    static func json(_ warnings: [AccountProblem]) -> [BootstrapJSON.Warning] {
        warnings.map(BootstrapJSON.Warning.init)
    }

    static func print(_ warnings: [AccountProblem]) {
        for warning in warnings { Output.progress("\(warning)") }
    }
}

struct ProvisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "The whole job: read the card's DM bootstrap over SCP03 and install its accounts into the DM tree.",
        discussion: """
        Connects, selects PKCS#15, opens SCP03, reads every bootstrap object, decodes and checks all of them, applies \
        the policy, and only then installs the accounts and removes the accounts an earlier card put there that this \
        card no longer carries, in one transaction. A failure at any step before that leaves the tree file as it was.
        """)

    @OptionGroup var readerOptions: ReaderOptions
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var channelOptions: ChannelOptions
    @OptionGroup var pkcs15Options: PKCS15Options
    @OptionGroup var treeOptions: TreeOptions
    @OptionGroup var policyOptions: PolicyOptions

    @Flag(help: "Read, decode and check, and report what would change; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Append the card's result as one JSON line to this file, as station --json-log does (not on --dry-run).",
                               valueName: "file"))
    var jsonLog: String?

    @OptionGroup var resultsOptions: ResultsOptions

    @Option(help: ArgumentHelp("This station's name in the results and the log (default: the host name).", valueName: "name"))
    var stationID: String?

    @OptionGroup var batchOptions: BatchOptions

    @OptionGroup var output: OutputOptions

    func run() throws {
        let policy = try policyOptions.load()
        let level = try channelOptions.readLevel()
        try policy.checkRead(level: level)
        let reader = pkcs15Options.bootstrapReader(keys: try level.map { _ in try keyOptions.load() }, level: level)
        let tree = try treeOptions.pathForWriting()
        var provisioner = Provisioner(reader: reader, policy: policy, tree: .file(tree))
        provisioner.busyTimeout = treeOptions.busyTimeout
        provisioner.dryRun = dryRun
        let sink = try ResultSinks(dryRun ? [] : jsonLog.map { [try JSONLinesLog(path: $0)] } ?? [])
        let run = RunContext(command: "provision", stationID: stationID ?? ProcessInfo.processInfo.hostName,
                             dmbootVersion: DMBoot.version, batch: batchOptions.batch, operator: batchOptions.operator)
        // A dry run installs nothing, so it claims and records nothing.
        let results = dryRun ? nil : try resultsOptions.open(context: run) { Output.progress("dmboot: \(ResultsOptions.describe($0))") }
        if let results { ResultsOptions.start(results) { Output.progress("dmboot: \($0)") } }
        defer { results.map { ResultsOptions.finish($0) { Output.progress("dmboot: \($0)") } } }
        let claim = results?.admission()
        provisioner.admission = claim
        let context = try PCSCContext()
        let card = try readerOptions.connect(context, reset: true)
        defer { card.disconnect(resetCard: true) }
        let time = Date()
        let started = ContinuousClock.now
        let atr = try card.atr()
        /// The result in the results database first (it fills in what the claim learnt), then in the log.
        func record(_ result: CardResult) throws {
            var result = result
            result.atr = Hex.encode(atr)
            if let results {
                let (recorded, delivery) = try results.record(result, claim: claim)
                if let note = ResultsOptions.describe(delivery, spooled: results.recorder.spooledCount) {
                    Output.progress("dmboot: \(note)")
                }
                result = recorded
            }
            try sink.record(result)
        }
        let report: Provisioner.Report
        do {
            report = try provisioner.provision(over: ISO7816Channel(link: card), atr: atr)
        } catch {
            // The card's own failure is what the exit status reports, even when the log cannot take it.
            do {
                try record(run.result(of: error, reader: card.reader, time: time, duration: ContinuousClock.now - started))
            } catch let logFailure {
                Output.progress("dmboot: \(logFailure)")
            }
            throw error
        }
        try record(run.result(of: report, reader: card.reader, time: time, duration: ContinuousClock.now - started))
        if output.json {
            try Output.json(ProvisionReport.json(report, reader: card.reader, tree: tree))
        } else {
            ProvisionReport.printText(report, reader: card.reader, tree: tree)
        }
    }
}

/// An account of a report: its name and ServerID (null when it has none).
struct AccountName: Encodable {
    let name: String
    @NullWhenAbsent var serverID: String?

    init(_ account: DMAccount) {
        name = account.name
        serverID = account.serverID
    }
}

enum ProvisionReport {
    /// `provision --json` (dmboot(1), PROVISION OUTPUT).
    struct JSON: Encodable {
        let reader: String
        let cardIdentity: String
        let cardIdentitySource: String
        let cardWarnings: [String]
        let tree: String
        let dryRun: Bool
        let added: [String]
        let replaced: [String]
        let removed: [String]
        let unchanged: [String]
        let changed: Bool
        let accounts: [AccountName]
        let warnings: [BootstrapJSON.Warning]
        @NullWhenAbsent var level: String?
        let apduCount: Int
        let milliseconds: Double
    }

    static func json(_ report: Provisioner.Report, reader: String, tree: String) -> JSON {
        JSON(reader: reader, cardIdentity: report.cardIdentity, cardIdentitySource: report.card.identity.source.rawValue,
             cardWarnings: report.card.warnings, tree: tree, dryRun: report.dryRun, added: report.install.added,
             replaced: report.install.replaced, removed: report.install.removed, unchanged: report.install.unchanged,
             changed: report.install.changesTree, accounts: report.accounts.map(AccountName.init),
             warnings: ValidationWarnings.json(report.warnings), level: report.card.handshake?.level.hex,
             apduCount: report.card.apduCount, milliseconds: report.duration.milliseconds)
    }

    static func printText(_ report: Provisioner.Report, reader: String, tree: String) {
        ValidationWarnings.print(report.warnings)
        for warning in report.card.warnings { Output.progress("dmboot: warning: \(warning)") }
        Output.line("card        \(report.cardIdentity) in \(reader)")
        Output.line("channel     \(report.card.handshake.map { "SCP03 level \($0.level.hex)" } ?? "none"), \(report.card.apduCount) APDUs")
        let verb = report.dryRun ? "would " : ""
        for (label, names) in [("added", report.install.added), ("replaced", report.install.replaced),
                               ("removed", report.install.removed), ("unchanged", report.install.unchanged)] where !names.isEmpty {
            Output.line("\(verb)\(label)\(String(repeating: " ", count: max(1, 12 - verb.count - label.count)))\(names.map { "./DMAcc/\($0)" }.joined(separator: ", "))")
        }
        if !report.install.changesTree {
            Output.line("the tree already holds exactly this card's accounts: nothing changed")
        }
        Output.line("tree        \(tree)\(report.dryRun ? " (dry run: not written)" : "")")
        Output.line("time        \(String(format: "%.1f", report.duration.milliseconds)) ms")
    }
}
