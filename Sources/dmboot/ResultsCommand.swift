import ArgumentParser
import CommandLineSupport
import Foundation
import Results
import StationResults

/// The shared results database, as `station`, `provision` and `results` reach it.
struct ResultsDatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Results database, a libpq postgresql:// URL. Default: $DMBOOT_RESULTS.", valueName: "url"))
    var results: String?

    @Option(help: ArgumentHelp(
        "File holding the results database's password (the user's own, no group or other access); "
        + "else the URL's, ~/.pgpass or $PGPASSFILE.", valueName: "file"))
    var resultsPasswordFile: String?

    /// The URL given, else $DMBOOT_RESULTS; nil when neither is set.
    var url: String? {
        if let results { return results }
        let fromEnvironment = ProcessInfo.processInfo.environment["DMBOOT_RESULTS"]
        return fromEnvironment?.isEmpty == false ? fromEnvironment : nil
    }

    func requiredURL() throws -> String {
        guard let url else { throw ValidationError("give the results database with --results URL or $DMBOOT_RESULTS") }
        return url
    }

    /// The password of --results-password-file, by the rule of secret files; nil without the option.
    func password() throws -> String? {
        try SecretInput.text(file: resultsPasswordFile)
    }
}

struct ResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "The results database the stations share: list records, report per station and hour, deliver the spool.",
        subcommands: [ResultsListCommand.self, ResultsReportCommand.self, ResultsFlushCommand.self])
}

/// Which records: one station, since a time, one outcome.
struct ResultsFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this station's records.", valueName: "id"))
    var station: String?

    @Option(help: ArgumentHelp("Only this batch's records (station and provision --batch).", valueName: "id"))
    var batch: String?

    @Option(help: ArgumentHelp(
        "Only records from this time on: ISO 8601 (2026-11-30, 2026-11-30T08:00:00Z) or an age (90s, 30m, 8h, 7d).",
        valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only records from before this time, written as for --since.", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp(
        "Only this outcome (provisioned, unchanged, alreadyProvisioned, failed), failure class (cardRemoved...), conflict, or duplicate.",
        valueName: "outcome"))
    var outcome: String?

    @Flag(help: "Write comma-separated values (RFC 4180) with a header line instead of text.")
    var csv = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if csv && output.json { throw ValidationError("give at most one of --json and --csv") }
        _ = try sinceDate()
        _ = try time(until, "--until")
    }

    func filter() throws -> ResultsFilter {
        ResultsFilter(station: station, batch: batch, since: try sinceDate(), until: try time(until, "--until"), outcome: outcome)
    }

    func sinceDate(now: Date = Date()) throws -> Date? {
        try time(since, "--since", now: now)
    }

    /// An ISO 8601 date or time, or an age back from `now`.
    func time(_ text: String?, _ option: String, now: Date = Date()) throws -> Date? {
        guard let since = text else { return nil }
        if let date = Timestamp.date(since) { return date }
        if let day = try? Date.ISO8601FormatStyle().year().month().day().parse(since) { return day }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = since.last.flatMap({ units[$0] }), let count = Double(since.dropLast()), count >= 0, count.isFinite {
            return now.addingTimeInterval(-count * unit)
        }
        throw ValidationError("\(option) takes an ISO 8601 date or time, or an age such as 30m, 8h or 7d: \(since)")
    }
}

struct ResultsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the card records, oldest first.")

    @OptionGroup var database: ResultsDatabaseOptions
    @OptionGroup var filterOptions: ResultsFilterOptions

    func run() throws {
        let store = ResultsStore(connection: try ResultsConnection.open(database))
        let records = try store.records(try filterOptions.filter())
        if filterOptions.output.json {
            try Output.json(records)
        } else if filterOptions.csv {
            let columns = ["time", "station", "batch", "operator", "reader", "cardIdentity", "iccid", "pkcs15Serial", "atr", "outcome",
                           "failureClass", "exitCode", "added", "replaced", "removed", "apduCount", "milliseconds", "kvn",
                           "reprovision", "conflictsWith", "dmbootVersion", "runID", "recordID", "error"]
            Output.line(columns.joined(separator: ","))
            for record in records { Output.line(CSV.row(record.csvFields)) }
        } else {
            for record in records { Output.line(record.textLine) }
            Output.line("\(records.count) record(s)")
        }
    }
}

struct ResultsReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Per station and hour (UTC), then a totals row: cards, successes, failures by class, duplicates, yield, cards per minute.")

    @OptionGroup var database: ResultsDatabaseOptions
    @OptionGroup var filterOptions: ResultsFilterOptions

    @Option(help: ArgumentHelp(
        "Write the batch (--batch) as a printable, self-contained HTML page to this file: counts, yield, failure classes, timeline, failed cards.",
        valueName: "file"))
    var html: String?

    func validate() throws {
        guard let html else { return }
        guard filterOptions.batch != nil else { throw ValidationError("--html reports one batch: give --batch ID") }
        if filterOptions.csv || filterOptions.output.json { throw ValidationError("--html writes a page: give neither --json nor --csv") }
        try InputFile.requireFolder(of: html, option: "--html", hasDefault: false)
    }

    func run() throws {
        let store = ResultsStore(connection: try ResultsConnection.open(database))
        let filter = try filterOptions.filter()
        if let html, let batch = filterOptions.batch {
            let page = try store.batchReportPage(batch: batch, filter: filter)
            try PrivateFile.write(Data(page.html.utf8), to: html)
            Output.line("batch \(batch): \(page.total.cards) card(s), report written to \(html)")
            return
        }
        let rows = try store.report(filter), total = try store.reportTotal(filter)
        if filterOptions.output.json {
            try Output.json(ReportJSON(rows: rows, total: total))
            return
        }
        let header = ["hour", "station", "cards", "succeeded", "failed", "duplicates", "conflicts", "yieldPercent",
                      "cardsPerMinute", "meanMilliseconds", "failures"]
        if filterOptions.csv {
            Output.line(header.joined(separator: ","))
        } else {
            Output.line("hour (UTC)         station              cards    ok  failed  dup  conflict   yield  cards/min  mean ms  failures")
        }
        for row in rows + [total] {
            let failures = row.failures.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            let hour = row.hour?.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false))
                ?? "total"
            let rate = row.cardsPerMinute.map { String(format: "%.1f", $0) } ?? "-"
            if filterOptions.csv {
                Output.line(CSV.row([hour, row.station, "\(row.cards)", "\(row.succeeded)", "\(row.failed)", "\(row.duplicates)",
                                     "\(row.conflicts)", row.yieldPercent.map { String(format: "%.1f", $0) } ?? "",
                                     row.cardsPerMinute.map { String(format: "%.3f", $0) } ?? "",
                                     String(format: "%.1f", row.meanMilliseconds), failures]))
            } else {
                Output.line(String(hour.prefix(16)).padding(toLength: 19, withPad: " ", startingAt: 0)
                            + row.station.padding(toLength: 20, withPad: " ", startingAt: 0)
                            + String(format: "%6d %5d %7d %4d %9d ", row.cards, row.succeeded, row.failed,
                                     row.duplicates, row.conflicts)
                            + (row.yieldPercent.map { String(format: "%6.1f%%", $0) } ?? "      -")
                            + String(repeating: " ", count: max(0, 10 - rate.count)) + rate
                            + String(format: " %8.1f  ", row.meanMilliseconds)
                            + failures)
            }
        }
    }
}

/// `results report --json`: the rows per station and hour, and the totals row.
struct ReportJSON: Encodable {
    let rows: [ReportRow]
    let total: ReportRow
}

struct ResultsFlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush",
        abstract: "Deliver the records spooled while the database was unreachable, each exactly once.",
        discussion: """
        The spool is $XDG_STATE_HOME/dmboot/spool (default ~/.local/state/dmboot/spool). A running station delivers \
        it by itself once the database answers; this command does it for a station that is stopped, or for \
        provision's spooled records. A card a second station provisioned meanwhile is stored as a conflict. \
        First it settles the cards a killed station or provision left unrecorded (their install intents in the \
        spool folder): provisioned when the tree holds the install, failed (interrupted) otherwise.
        """)

    @OptionGroup var database: ResultsDatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let recorder = try ResultRecorder(settings: ResultsConnection.settings(url: try database.requiredURL(),
                                                                               password: try database.password()))
        let settlement = DatabaseResults.settleIntents(recorder)
        let report = recorder.flush()
        if output.json {
            try Output.json(FlushJSON(stored: report.stored, alreadyStored: report.alreadyStored, conflicts: report.conflicts,
                                      rejected: report.rejected, unreadable: report.unreadable + settlement.unreadable,
                                      remaining: report.remaining, spool: recorder.settings.spool.directory,
                                      settledProvisioned: settlement.provisioned, settledFailed: settlement.failed,
                                      unsettled: settlement.unsettled))
        } else {
            ResultsOptions.describe(settlement) { Output.progress("dmboot: \($0)") }
            Output.line("results: \(report.delivered) record(s) delivered from \(recorder.settings.spool.directory): "
                        + "\(report.stored) stored, \(report.alreadyStored) already there, \(report.conflicts) conflict(s)")
            for line in report.rejected { Output.progress("dmboot: the database refused a spooled record, kept as .rejected: \(line)") }
            for path in report.unreadable { Output.progress("dmboot: not a record, kept aside: \(path)") }
        }
        if let reason = report.stoppedBy {
            throw ResultRecorder.FlushIncomplete(reason: reason, remaining: report.remaining)
        }
    }
}

/// `results flush --json`.
struct FlushJSON: Encodable {
    let stored: Int
    let alreadyStored: Int
    let conflicts: Int
    let rejected: [String]
    let unreadable: [String]
    let remaining: Int
    let spool: String
    /// Cards a killed run left without a record, settled from their install intents.
    let settledProvisioned: [String]
    let settledFailed: [String]
    let unsettled: [String]
}

/// The one place dmboot opens the results database and builds a recorder's settings.
enum ResultsConnection {
    static func open(_ database: ResultsDatabaseOptions) throws -> PostgresConnection {
        let connection = try PostgresConnection(url: try database.requiredURL(), password: try database.password())
        try ResultsSchema.migrate(connection, dmbootVersion: DMBoot.configuration.version)
        return connection
    }

    static func settings(url: String, password: String?, allowReprovision: Bool = false) -> ResultRecorder.Settings {
        var settings = ResultRecorder.Settings(url: url, spool: ResultSpool(directory: ResultSpool.defaultDirectory()),
                                               knownCards: KnownCards(path: KnownCards.defaultPath()),
                                               dmbootVersion: DMBoot.configuration.version)
        settings.allowReprovision = allowReprovision
        settings.password = password
        return settings
    }
}

/// Comma-separated values as RFC 4180 writes them.
enum CSV {
    static func row(_ fields: [String]) -> String {
        fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}

extension ResultRecord {
    var csvFields: [String] {
        [Timestamp.string(time), stationID, batch ?? "", self.operator ?? "", reader ?? "", cardIdentity ?? "", iccid ?? "", pkcs15Serial ?? "", atr ?? "",
         outcome.rawValue, failureClass ?? "", "\(exitCode)", added.joined(separator: " "), replaced.joined(separator: " "),
         removed.joined(separator: " "), apduCount.map { "\($0)" } ?? "", String(format: "%.1f", milliseconds),
         kvn.map { "\($0)" } ?? "", reprovision ? "true" : "false", conflictsWith?.uuidString.lowercased() ?? "",
         dmbootVersion, runID.uuidString.lowercased(), recordID.uuidString.lowercased(), error ?? ""]
    }

    var textLine: String {
        var what = failureClass.map { outcome == .failed ? "FAILED \($0) (\(exitCode))" : "\($0) (\(exitCode))" } ?? outcome.rawValue
        if reprovision { what += " (reprovisioned)" }
        if let conflictsWith { what += " CONFLICT: provisioned before as record \(conflictsWith.uuidString.lowercased())" }
        return "\(Timestamp.string(time))  \(stationID)\(batch.map { " [batch \($0)]" } ?? "")  \(reader ?? "-")  \(cardIdentity ?? "unidentified")  \(what)"
            + (apduCount.map { "  \($0) APDUs" } ?? "") + String(format: "  %.1f ms", milliseconds)
            + (error.map { "  \($0)" } ?? "")
    }
}
