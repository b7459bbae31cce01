import ArgumentParser
import CardSession
import CardTransport
import ExitContract
import Foundation
import KeySources
import Provisioning
import SecureChannel
import Station
import Synchronization
import TerminalText

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
        if let maxCards, maxCards < 1 { throw ValidationError("--max-cards takes a positive number") }
    }

    func run() throws {
        let policy = try policyOptions.load()
        let level = try channelOptions.securityLevel()
        try policy.checkRead(level: level)
        let keys = try keyOptions.load()
        let reader = pkcs15Options.bootstrapReader(keys: keys, level: level)
        var provisioner = Provisioner(reader: reader, policy: policy,
                                      tree: treeDir.map { .perCard(directory: $0) } ?? .file(tree!))
        provisioner.busyTimeout = busyTimeout
        let configuration = try stationConfiguration()
        let log = try jsonLog.map(StationLog.init(path:))
        let board = StatusBoard()
        let observers = Station.Observers(result: { result in
            log?.write(result)
            board.note(result)
        }, activity: { board.show($0) })
        let station = Station(configuration: configuration, events: try ReaderMonitor(), observers: observers,
                              job: { [provisioner] name in StationJob.run(provisioner, reader: name) })
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

/// One card: its own PC/SC context (contexts stay on their thread), an
/// exclusive connection, the whole provisioning, and a reset at the end.
enum StationJob {
    static func run(_ provisioner: Provisioner, reader name: String) -> CardResult {
        let started = Date()
        let clock = ContinuousClock.now
        var result: CardResult
        do {
            let context = try PCSCContext()
            let card = try context.connect(reader: name, share: .exclusive)
            defer { card.disconnect(resetCard: true) }
            let report = try provisioner.provision(over: ISO7816Channel(link: card), atr: try card.atr())
            result = CardResult(started: started, reader: name, outcome: report.install.changesTree ? "provisioned" : "unchanged",
                                exitCode: 0, seconds: 0)
            result.cardIdentity = report.cardIdentity
            result.added = report.install.added
            result.replaced = report.install.replaced
            result.removed = report.install.removed
            result.unchanged = report.install.unchanged
            result.apduCount = report.card.apduCount
            result.tree = report.treePath
            result.warnings = report.warnings.map(\.description)
        } catch {
            let status = ExitStatus.of(error)
            result = CardResult(started: started, reader: name, outcome: "\(status)", exitCode: status.rawValue, seconds: 0)
            result.error = "\(error)"
        }
        result.seconds = (ContinuousClock.now - clock).milliseconds / 1000
        return result
    }
}

/// The station log: one JSON object per line, flushed to disk after each card.
final class StationLog: Sendable {
    private let handle: FileHandle

    init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                          NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    func write(_ result: CardResult) {
        let object: [String: Any] = [
            "time": ISO8601DateFormatter().string(from: result.started),
            "reader": result.reader,
            "cardIdentity": result.cardIdentity ?? NSNull(),
            "outcome": result.outcome,
            "exitCode": Int(result.exitCode),
            "added": result.added, "replaced": result.replaced, "removed": result.removed, "unchanged": result.unchanged,
            "apduCount": result.apduCount ?? NSNull(),
            "milliseconds": (result.seconds * 1000 * 10).rounded() / 10,
            "tree": result.tree ?? NSNull(),
            "warnings": result.warnings,
            "error": result.error ?? NSNull(),
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        handle.write(data + Data("\n".utf8))
        try? handle.synchronize()
    }
}

/// The live status on stderr: a line per reader, redrawn in place on a terminal, plain lines otherwise.
final class StatusBoard: Sendable {
    private struct Drawing {
        var drawn = 0
        var shown: [String: String] = [:]
    }

    private let drawing = Mutex(Drawing())
    private let terminal = isatty(STDERR_FILENO) == 1

    func note(_ result: CardResult) {
        let text = result.succeeded
            ? "\(result.reader): \(result.outcome) \(result.cardIdentity ?? "") in \(String(format: "%.0f", result.seconds * 1000)) ms, \(result.apduCount ?? 0) APDUs"
                + result.warnings.map { "\n\(result.reader): \($0)" }.joined()
            : "\(result.reader): FAILED \(result.outcome) (\(result.exitCode)): \(result.error ?? "")"
        if !terminal { Self.emit(TerminalText.escape(text) + "\n") }
    }

    func show(_ states: [String: ReaderActivity]) {
        drawing.withLock { drawing in
            let lines = states.keys.sorted().map { name -> (String, String) in
                switch states[name]! {
                case .waitingForCard: return (name, "\(name): waiting for a card")
                case .provisioning: return (name, "\(name): provisioning...")
                case .removeCard(let outcome, let identity):
                    return (name, "\(name): \(outcome) \(identity ?? "") - remove the card")
                case .gone: return (name, "\(name): reader gone")
                }
            }
            if terminal {
                var text = drawing.drawn > 0 ? "\u{1B}[\(drawing.drawn)A" : ""
                for (_, line) in lines { text += "\u{1B}[2K\(TerminalText.escape(line))\n" }
                drawing.drawn = lines.count
                Self.emit(text)
            } else {
                // Plain lines: only what changed, and no "remove the card" (the result line said it).
                let changed = lines.filter { drawing.shown[$0.0] != $0.1 }
                for (name, line) in changed { drawing.shown[name] = line }
                Self.emit(changed.map(\.1).filter { !$0.hasSuffix("remove the card") }.map { TerminalText.escape($0) + "\n" }.joined())
            }
        }
    }

    func message(_ text: String) {
        drawing.withLock { $0.drawn = 0 }
        Self.emit(TerminalText.escapeLines(text) + "\n")
    }

    static func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
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
