import ArgumentParser
import Foundation
import Results
import StationPipeline
import StationResults

/// `--results` and `--allow-reprovision`, as `station` and `provision` take them.
struct ResultsOptions: ParsableArguments {
    @OptionGroup var database: ResultsDatabaseOptions

    @Flag(help: "Provision a card that already has a successful record (any station), and record that it was reprovisioned.")
    var allowReprovision = false

    func validate() throws {
        if allowReprovision && database.url == nil {
            throw ValidationError("--allow-reprovision needs the results database (--results URL or $DMBOOT_RESULTS)")
        }
    }

    /// The results database when a URL is given; nil keeps the JSON Lines log alone.
    func open(context: RunContext, onStatus: @escaping @Sendable (ResultRecorder.Status) -> Void) throws -> DatabaseResults? {
        guard let url = database.url else { return nil }
        let recorder = try ResultRecorder(settings: ResultsConnection.settings(url: url, password: try database.password(),
                                                                                   allowReprovision: allowReprovision),
                                          onStatus: onStatus)
        return DatabaseResults(recorder: recorder, context: context)
    }

    /// Says how the run begins: the cards a killed run left unfinished
    /// settled first, then spooling from the start, or delivering an earlier spool.
    static func start(_ results: DatabaseResults, say: (String) -> Void) {
        let recorder = results.recorder
        describe(DatabaseResults.settleIntents(recorder), say: say)
        if case .spooling = recorder.status {
            say(describe(recorder.status))
        } else if recorder.spooledCount > 0 {
            let report = recorder.flush()
            say("results: \(report.delivered) spooled record(s) of an earlier run delivered (\(report.conflicts) conflict(s))")
        }
    }

    /// Ends a run: one last delivery of what waits, and where the rest stays.
    static func finish(_ results: DatabaseResults, say: (String) -> Void) {
        let recorder = results.recorder
        recorder.stopRetrying()
        guard recorder.spooledCount > 0 else { return }
        let report = recorder.flush()
        if report.remaining > 0 {
            say("results: \(report.remaining) record(s) stay spooled in \(recorder.settings.spool.directory); "
                + "`dmboot results flush` delivers them")
        }
    }

    /// What settling a killed run's intents did, when it did anything.
    static func describe(_ settlement: DatabaseResults.Settlement, say: (String) -> Void) {
        if settlement.settled > 0 {
            say("results: \(settlement.settled) card(s) a killed run left unrecorded are recorded now: "
                + "\(settlement.provisioned.count) provisioned (their tree holds the install), \(settlement.failed.count) failed (interrupted)")
        }
        for line in settlement.unsettled { say("results: an unfinished card stays to settle later: \(line)") }
        for path in settlement.unreadable { say("results: not an install intent, kept aside: \(path)") }
    }

    static func describe(_ status: ResultRecorder.Status) -> String {
        switch status {
        case .connected:
            return "results: the results database is back; the spooled results are delivered"
        case .spooling(let reason):
            return "results: \(reason); results are spooled to \(ResultSpool.defaultDirectory()) and delivered when it is back"
        }
    }

    /// What a card's line should add about its record, if anything.
    static func describe(_ delivery: Delivery, spooled: Int) -> String? {
        switch delivery {
        case .stored, .alreadyStored: return nil
        case .spooled: return "result spooled (\(spooled) waiting for the results database)"
        case .conflict(let earlier):
            return "CONFLICT: this card was provisioned before (record \(earlier.uuidString.lowercased())); recorded as a conflict"
        }
    }
}
