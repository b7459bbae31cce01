import ArgumentParser
import CardSession
import CardTransport
import ExitContract
import Foundation
import KeySources
import Provisioning
import SecureChannel
import CardResults
import Station
import StationPipeline

struct StationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Factory station: provision every card inserted into the watched readers, unattended, a log line per card.",
        discussion: """
        Watches the readers with SCardGetStatusChange (no polling) and provisions each card as it is inserted, \
        in parallel across readers, then waits for its removal. A failed card is left alone (never a second \
        EXTERNAL AUTHENTICATE). SIGINT or SIGTERM finishes the cards in progress, writes a summary and exits. \
        Failed cards are in the log (--json-log); the exit status is 0 after a clean stop.
        """)

    @Option(help: ArgumentHelp("all, or a comma-separated list of reader names, indexes or unique parts.", valueName: "readers"))
    var readers = "all"

    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var channelOptions: ChannelOptions
    @OptionGroup var pkcs15Options: PKCS15Options

    @Option(help: ArgumentHelp("One tree per card, <dir>/pkcs15-<serial>.sqlite (the factory layout).", valueName: "dir"))
    var treeDir: String?

    @Option(help: ArgumentHelp("One tree for every card (each card prunes the smartcard accounts of the others).", valueName: "path"))
    var tree: String?

    @Option(help: ArgumentHelp("Seconds to wait while another dmboot writes a tree.", valueName: "seconds"))
    var busyTimeout: Double = 5

    @OptionGroup var policyOptions: PolicyOptions

    @Option(help: ArgumentHelp("Append one JSON line per card to this file.", valueName: "file"))
    var jsonLog: String?

    @Flag(help: "Provision the cards already in the readers, then exit.")
    var once = false

    @Option(help: ArgumentHelp("Exit after this many cards.", valueName: "count"))
    var maxCards: Int?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (treeDir == nil) != (tree == nil) else { throw ValidationError("give exactly one of --tree-dir and --tree") }
        if let maxCards { try NumberRange.check(maxCards, "--max-cards", 1...10_000_000, unit: "a number of cards") }
        try NumberRange.check(busyTimeout, "--busy-timeout", 0...3600)
    }

    func run() throws {
        let policy = try policyOptions.load()
        let level = try channelOptions.securityLevel()
        try policy.checkRead(level: level)
        let keys = try keyOptions.load()
        let reader = pkcs15Options.bootstrapReader(keys: keys, level: level)
        if let tree { try InputFile.requireFolder(of: tree, option: "--tree", hasDefault: false) }
        // The tree folder itself is made (0700) when missing, but not the folders above it.
        if let treeDir { try InputFile.requireFolder(of: treeDir, option: "--tree-dir", hasDefault: false) }
        var provisioner = Provisioner(reader: reader, policy: policy,
                                      tree: treeDir.map { .perCard(directory: $0) } ?? .file(tree!))
        provisioner.busyTimeout = busyTimeout
        let configuration = try stationConfiguration()
        let sink = try ResultSinks(jsonLog.map { [try JSONLinesLog(path: $0)] } ?? [])
        let board = StatusBoard()
        let observers = Station.Observers(result: { result in
            do {
                try sink.record(result)
            } catch {
                board.message("dmboot station: \(error)")
            }
            board.note(result)
        }, activity: { board.show($0) })
        let job = StationJob(provisioner: provisioner, context: RunContext(command: "station", dmbootVersion: DMBoot.version))
        let station = Station(configuration: configuration, events: try ReaderMonitor(), observers: observers,
                              job: job.run(reader:))
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                board.message("stopping: finishing the cards in progress")
                station.stop()
            }
            source.resume()
            sources.append(source)
        }
        let started = Date()
        let results = try station.run()
        sources.forEach { $0.cancel() }
        StationSummary(results: results, seconds: Date().timeIntervalSince(started)).print(json: output.json)
    }

    /// Reader names as given: exact names, indexes into `dmboot readers`, or parts of names.
    func stationConfiguration() throws -> Station.Configuration {
        var configuration = Station.Configuration()
        configuration.once = once
        configuration.maxCards = maxCards
        guard readers != "all" else { return configuration }
        let names = try PCSCContext().readerNames()
        configuration.readers = readers.split(separator: ",").map { part in
            let text = part.trimmingCharacters(in: .whitespaces)
            if let index = Int(text), names.indices.contains(index) { return names[index] }
            return text
        }
        return configuration
    }
}

struct StationSummary {
    let results: [CardResult]
    let seconds: Double

    func print(json: Bool) {
        let failures = Dictionary(grouping: results.filter { !$0.succeeded }, by: \.outcome).mapValues(\.count)
        let ok = results.filter(\.succeeded).count
        if json {
            Output.json(["cards": results.count, "succeeded": ok, "failed": results.count - ok, "failures": failures,
                         "seconds": (seconds * 10).rounded() / 10])
        } else {
            Output.line("station: \(results.count) card(s), \(ok) succeeded, \(results.count - ok) failed\(failures.isEmpty ? "" : " " + failures.map { "\($0.key)×\($0.value)" }.sorted().joined(separator: ", ")) in \(String(format: "%.1f", seconds)) s")
        }
    }
}
