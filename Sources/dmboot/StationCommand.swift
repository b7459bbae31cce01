import APDU
import ArgumentParser
import CardResults
import CardSession
import CardTransport
import CommandLineSupport
import ExitContract
import Foundation
import JSONOutput
import KeySources
import LineFigures
import Provisioning
import Results
import SecureChannel
import Station
import StationPipeline
import StationResults
import Synchronization

struct StationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Factory station: provision every card inserted into the watched readers, unattended, a log line per card.",
        discussion: """
        Watches the readers with SCardGetStatusChange (no polling) and provisions each card as it is inserted, \
        in parallel across readers, then waits for its removal. A failed card is left alone (never a second \
        EXTERNAL AUTHENTICATE). --max-consecutive-failures cards in a row failing with the same class (wrong keys, a \
        wrong batch) stop the line with exit status 16; duplicates neither count nor break the row. SIGINT or SIGTERM finishes the cards in progress, writes \
        the summary and exits 0; a second Ctrl-C is acknowledged at once and exits 17 right after the cards in flight. \
        SIGHUP reopens the --json-log file at its path (after logrotate renamed it) and keeps running. \
        When pcscd goes away the station says so and waits up to --pcscd-wait seconds for it to come back; past \
        that it stops with exit status 3, after the summary. \
        A card already provisioned in this run is a duplicate, a card whose tree already holds its \
        accounts is unchanged: neither counts as provisioned.
        """)

    @Option(help: ArgumentHelp(
        "Read the options from this file: key = value lines, a key being an option without its dashes (a flag: its key alone); "
            + "options on the command line win. See dmboot(1), STATION CONFIGURATION.", valueName: "file"))
    var config: String?

    /// What a station's configuration file may not hold: keys in hex belong
    /// in a key file (0600) or a token, and a file does not name another.
    static let refusedInConfig: [String: String] = {
        let keys = "keys go in a key file (keys = FILE, mode 0600) or a PKCS#11 token, never in a configuration"
        return ["key-enc": keys, "key-mac": keys, "key-dek": keys, "config": "one configuration file names no other"]
    }()

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

    @Flag(help: "Provision the cards already in the readers, then exit (exit status 6 when there is none).")
    var once = false

    @Option(help: ArgumentHelp("Exit after this many cards.", valueName: "count"))
    var maxCards: Int?

    @Option(help: ArgumentHelp("Stop the line after this many cards in a row fail with the same class (0: never).", valueName: "count"))
    var maxConsecutiveFailures = 3

    @Option(help: ArgumentHelp("Seconds to wait for pcscd to come back when it goes away before the station stops (exit 3).", valueName: "seconds"))
    var pcscdWait: Double = 60

    @Option(help: ArgumentHelp("This station's name in the log and the summary (default: the host name).", valueName: "name"))
    var stationID: String?

    @OptionGroup var batchOptions: BatchOptions

    @Option(help: ArgumentHelp("Write the summary (JSON) to this file when the station stops.", valueName: "file"))
    var summary: String?

    @Option(help: ArgumentHelp("Write the failed cards to this file, one per line, to re-run them.", valueName: "file"))
    var failedList: String?

    @OptionGroup var resultsOptions: ResultsOptions

    @Option(help: ArgumentHelp("Serve Prometheus metrics of the running station at http://HOST:PORT/metrics (port 0: any free port).",
                               valueName: "host:port"))
    var metrics: String?

    @Option(help: ArgumentHelp("Run this shell command when the station stops the line or exits on an error; "
                               + "$DMBOOT_STOP_REASON says why.", valueName: "command"))
    var onStop: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (treeDir == nil) != (tree == nil) else { throw ValidationError("give exactly one of --tree-dir and --tree") }
        if let maxCards { try NumberRange.check(maxCards, "--max-cards", 1...10_000_000, unit: "a number of cards") }
        try NumberRange.check(maxConsecutiveFailures, "--max-consecutive-failures", 0...1_000_000, unit: "a number of cards")
        try NumberRange.check(busyTimeout, "--busy-timeout", 0...3600)
        try NumberRange.check(pcscdWait, "--pcscd-wait", 0...86_400)
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
        if let summary { try InputFile.requireFolder(of: summary, option: "--summary", hasDefault: false) }
        if let failedList { try InputFile.requireFolder(of: failedList, option: "--failed-list", hasDefault: false) }
        // Absolute, so that every log line names the tree wherever it is read.
        let location: Provisioner.TreeLocation = treeDir.map { .perCard(directory: Self.absolute($0)) } ?? .file(Self.absolute(tree!))
        var provisioner = Provisioner(reader: reader, policy: policy, tree: location)
        provisioner.busyTimeout = busyTimeout
        let configuration = try stationConfiguration()
        let log = try jsonLog.map { try JSONLinesLog(path: $0) }
        let sink = ResultSinks(log.map { [$0] } ?? [])
        let board = StatusBoard(maxCards: maxCards)
        if let config { board.message("options from \(config); the command line's win") }
        // logrotate's convention: SIGHUP after renaming the log asks for a new file at its path.
        let hangup = Termination(signals: [SIGHUP]) {
            do {
                try log?.reopen()
                board.message("SIGHUP: \(log.map { "reopened the log \($0.path)" } ?? "no --json-log to reopen"); still running")
            } catch {
                board.message("SIGHUP: \(error); lines keep going to the file that was open")
            }
        }
        defer { hangup.cancel() }
        let context = RunContext(command: "station", stationID: stationID ?? ProcessInfo.processInfo.hostName,
                                 dmbootVersion: DMBoot.version, batch: batchOptions.batch, operator: batchOptions.operator)
        let database = try resultsOptions.open(context: context) { board.message(ResultsOptions.describe($0)) }
        if let database {
            ResultsOptions.start(database, say: board.message)
            database.recorder.retryInBackground(every: 2)
        }
        defer { database.map { ResultsOptions.finish($0, say: board.message) } }
        let reports = try LineReports(metrics: metrics, database: database, context: context)
        if let url = reports.metricsURL { board.message("metrics: \(url)") }
        let observers = Station.Observers(result: { result in
            do {
                try sink.record(result)
            } catch {
                board.message("dmboot station: \(error)")
            }
            board.note(result)
            reports.note(result)
        }, activity: { states in
            board.show(states)
            reports.show(states)
        })
        let job = StationJob(provisioner: provisioner, context: context)
        let events = try RecoveringReaderMonitor(waitingUpTo: pcscdWait) { state in
            switch state {
            case .gone(let reason, let seconds):
                board.message("pcscd is gone (\(reason)): waiting up to \(String(format: "%g", seconds)) s for it to come back; "
                              + "the cards in flight finish or fail")
            case .back:
                board.message("pcscd is back: watching the readers again")
            }
        }
        let station = Station(configuration: configuration, events: events, observers: observers,
                              job: { [provisioner] reader in
            guard let database else { return job.run(reader: reader) }
            // Each card claims its identity before its install and records its result on its own thread.
            let claim = database.admission(reader: reader)
            var claiming = provisioner
            claiming.admission = claim
            let result = StationJob(provisioner: claiming, context: context).run(reader: reader)
            do {
                let (recorded, delivery) = try database.record(result, claim: claim)
                if let note = ResultsOptions.describe(delivery, spooled: database.recorder.spooledCount) {
                    board.message("\(reader): \(note)")
                }
                return recorded
            } catch {
                board.message("\(reader): the result of \(result.cardIdentity ?? "the card") was NOT recorded: \(error)")
                return result
            }
        })
        let started = Date()
        let interrupts = Interrupts(board: board, station: station)
        do {
            let count = try watch(station, started: started, context: context, interrupts: interrupts)
            reports.finish(.ended, reason: "ended after \(count) card(s)", lineStopped: false)
        } catch {
            let cause = (error as? ReportedFailure)?.error ?? error
            let reason = ToolEntry.describe(cause)
            reports.finish(.stopped, reason: reason, lineStopped: station.halt != nil)
            if let onStop {
                StopNotice(command: onStop).run(reason: reason, status: ToolEntry.status(of: cause), stationID: context.stationID,
                                                runID: context.runID, batch: context.batch, say: board.message)
            }
            throw error
        }
    }

    /// Runs the line until it ends and reports the run; returns the number of cards, or throws how it failed.
    private func watch(_ station: Station, started: Date, context: RunContext, interrupts: Interrupts) throws -> Int {
        let results = try interrupts.handle { try station.run() }
        if once && results.isEmpty { throw StationError.nothingToDo(readers: readers) }
        var report = StationSummary(results: results, seconds: Date().timeIntervalSince(started), context: context,
                                    halt: station.halt)
        if let failure = station.monitorFailure {
            report.failure = failure
        } else if let halt = station.halt {
            report.failure = StationError.lineStopped(halt, lastError: results.last { !$0.succeeded }?.error)
        } else if interrupts.insisted {
            report.failure = StationError.interrupted
        }
        if let summary { try PrivateFile.write(report.jsonData(), to: summary) }
        if let failedList { try PrivateFile.write(Data(report.failedList().utf8), to: failedList) }
        try report.print(json: output.json)
        if let failure = report.failure { throw ReportedFailure(error: failure) }
        return results.count
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path
            : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    /// Reader names as given: exact names, indexes into `dmboot readers`, or
    /// parts of names. A part that names no reader is a mistake (as for
    /// `provision --reader`), not a station that idles.
    func stationConfiguration() throws -> Station.Configuration {
        var configuration = Station.Configuration()
        configuration.once = once
        configuration.maxCards = maxCards
        configuration.maxConsecutiveFailures = maxConsecutiveFailures
        guard readers != "all" else { return configuration }
        let names = try PCSCContext().readerNames()
        configuration.readers = try readers.split(separator: ",").map { part in
            let text = part.trimmingCharacters(in: .whitespaces)
            if let index = Int(text), names.indices.contains(index) { return names[index] }
            guard names.contains(where: { $0 == text || $0.range(of: text, options: .caseInsensitive) != nil }) else {
                throw PCSCError.unknownReader(text, available: names)
            }
            return text
        }
        return configuration
    }
}

/// SIGINT and SIGTERM: the first finishes the cards in flight and stops; a
/// second (the operator insisting) is acknowledged at once and makes the
/// station exit right after the cards in flight with its own status, so a
/// script can tell an operator's stop from a clean end.
final class Interrupts: Sendable {
    private let board: StatusBoard
    private let station: Station
    private let received = Mutex(0)

    init(board: StatusBoard, station: Station) {
        self.board = board
        self.station = station
    }

    /// Handles SIGINT and SIGTERM while `body` runs.
    func handle<T>(_ body: () throws -> T) rethrows -> T {
        let termination = Termination { [self] in interrupted() }
        defer { termination.cancel() }
        return try body()
    }

    private func interrupted() {
        let count = received.withLock { count in
            count += 1
            return count
        }
        if count == 1 {
            board.message("stopping: finishing the cards in progress (Ctrl-C again: stop right after them)")
            station.stop()
        } else if count == 2 {
            board.message("stopping now: exiting right after the cards in flight")
            station.stop()
        }
    }

    /// Whether the operator interrupted twice.
    var insisted: Bool { received.withLock { $0 >= 2 } }
}

enum StationError: Error, CustomStringConvertible, ClassifiedFailure {
    case nothingToDo(readers: String)
    case lineStopped(Station.Halt, lastError: String?)
    case interrupted

    var description: String {
        switch self {
        case .nothingToDo(let readers):
            return "--once: no card in the watched readers (\(readers)); nothing to do"
        case .lineStopped(let halt, let lastError):
            return "stopped the line: \(halt.cards) cards in a row failed with \(halt.outcome) (\(halt.exitCode))"
                + (lastError.map { ", the last: \($0)" } ?? "")
                + "; check the keys and the batch, then start the station again"
        case .interrupted:
            return "stopped by a second interrupt, right after the cards in flight"
        }
    }

    var exitStatus: ExitStatus {
        switch self {
        case .nothingToDo: return .noCard
        case .lineStopped: return .lineStopped
        case .interrupted: return .interrupted
        }
    }
}

/// What a run did: provisioned, unchanged and duplicate cards apart, the
/// failures by class.
struct StationSummary {
    let results: [CardResult]
    let seconds: Double
    let context: RunContext
    let halt: Station.Halt?
    var failure: Error?

    init(results: [CardResult], seconds: Double, context: RunContext, halt: Station.Halt?) {
        self.results = results
        self.seconds = seconds
        self.context = context
        self.halt = halt
    }

    func count(_ outcome: String) -> Int { results.filter { $0.kind == .succeeded && $0.outcome == outcome }.count }
    /// The failed cards, duplicates not among them (LineFigures).
    var failed: [CardResult] { results.filter { if case .failed = $0.kind { return true } else { return false } } }
    var figures: LineFigures { results.reduce(into: LineFigures()) { $0.add($1) } }

    /// The summary's JSON (dmboot(1), STATION OUTPUT), with the failure's fields when the run failed.
    struct JSON: Encodable {
        struct Halt: Encodable {
            let outcome: String
            let exitCode: Int
            let cards: Int
        }

        let cards: Int
        let provisioned: Int
        let unchanged: Int
        let duplicates: Int
        let failed: Int
        let failures: [String: Int]
        let yieldPercent: Double?
        let seconds: Double
        let cardsPerMinute: Double?
        let stationID: String
        let batch: String?
        let `operator`: String?
        let runID: String
        let dmbootVersion: String
        let stoppedTheLine: Halt?
    }

    var json: ReportWithFailure<JSON> {
        let figures = self.figures.summary
        return ReportWithFailure(JSON(
            cards: figures.cards, provisioned: count("provisioned"), unchanged: count("unchanged"),
            duplicates: figures.duplicates, failed: figures.failed, failures: figures.failures,
            yieldPercent: figures.yieldPercent, seconds: (seconds * 10).rounded() / 10, cardsPerMinute: figures.cardsPerMinute,
            stationID: context.stationID, batch: context.batch, operator: context.operator, runID: context.runID.uuidString, dmbootVersion: context.dmbootVersion,
            stoppedTheLine: halt.map { JSON.Halt(outcome: $0.outcome, exitCode: Int($0.exitCode), cards: $0.cards) }),
            failure: failure.map(FailureReport.init))
    }

    func jsonData() throws -> Data {
        try JSONOutput.document(json) + Data("\n".utf8)
    }

    /// One failed card a line, tab-separated, with a header: enough to find the card again and re-run it.
    func failedList() -> String {
        let header = "# time\treader\tATR\tICCID\tPKCS#15 serial\tclass\texit code\terror\n"
        return header + failed.map { result in
            [Timestamp.string(result.time), result.reader, result.atr ?? "-", result.iccid ?? "-", result.pkcs15Serial ?? "-",
             result.outcome, "\(result.exitCode)", result.error ?? "-"]
                .map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
                .joined(separator: "\t") + "\n"
        }.joined()
    }

    func print(json asJSON: Bool) throws {
        if asJSON {
            try Output.json(json)
            return
        }
        let figures = self.figures
        let failures = figures.failuresText
        Output.line("station: \(figures.cards) card(s): \(count("provisioned")) provisioned, \(count("unchanged")) unchanged, "
                    + "\(figures.duplicates) duplicate, \(figures.failed) failed\(failures.isEmpty ? "" : " (\(failures))") "
                    + "in \(String(format: "%.1f", seconds)) s; yield \(figures.yieldText); \(figures.rateText) cards/min")
    }
}
