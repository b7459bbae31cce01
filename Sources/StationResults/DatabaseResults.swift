import CardResults
import ExitContract
import Foundation
import Provisioning
import Results
import StationPipeline
import Synchronization

/// The results database as the provisioning pipeline reaches it: a claim
/// per card, asked by the Provisioner before it installs (`CardAdmission`),
/// and the card's record after, which ends the claim. Used by `station`
/// (one claim per card thread) and by `provision`.
public final class DatabaseResults: Sendable {
    public let recorder: ResultRecorder
    public let context: RunContext

    public init(recorder: ResultRecorder, context: RunContext) {
        self.recorder = recorder
        self.context = context
    }

    /// A fresh admission for one card: give it to that card's Provisioner.
    public func admission(reader: String? = nil) -> CardClaim {
        CardClaim(recorder: recorder, context: context, reader: reader)
    }

    /// Records the card's result, ending its claim. Returns the result with
    /// the identity the claim learnt filled in (a card refused or failed
    /// after it was identified), and where the record went. Throws only
    /// when the record could be neither stored nor spooled.
    public func record(_ result: CardResult, claim: CardClaim?) throws -> (result: CardResult, delivery: Delivery) {
        var result = result
        let (request, held, recordID, announced) = claim?.state.withLock { ($0.request, $0.claim, $0.recordID, $0.intentWritten) }
            ?? (nil, nil, UUID(), false)
        if let request, result.cardIdentity == nil {
            result.cardIdentity = request.cardIdentity
            result.pkcs15Serial = request.pkcs15Serial
            result.kvn = result.kvn ?? request.keyVersion.map(Int.init)
        }
        // The tree held this card's accounts while no record said they were
        // installed: that install's record was lost (a crash before this
        // fix), and "unchanged" would hide that the card was provisioned.
        if result.outcome == ResultRecord.Outcome.unchanged.rawValue, let held, !held.reprovision {
            result.outcome = ResultRecord.Outcome.provisioned.rawValue
            result.warnings.append("the tree already held this card's accounts but no record of their install: recorded as provisioned")
        }
        let delivery = try recorder.finish(held, Self.record(of: result, id: recordID))
        // The record is safe (stored or spooled); an intent that cannot be
        // removed is settled again later under the same record id, stored once.
        if announced { try? recorder.settings.spool.removeIntent(recordID) }
        return (result, delivery)
    }

    /// What settling the intents of ended runs did.
    public struct Settlement: Sendable, Equatable {
        /// Cards whose tree shows their install committed, now recorded as provisioned.
        public var provisioned: [String] = []
        /// Cards whose install never committed, now recorded as failed (interrupted).
        public var failed: [String] = []
        /// Intents that could not be settled now (a tree that cannot be read,
        /// a record that cannot be kept); they stay for the next try.
        public var unsettled: [String] = []
        public var unreadable: [String] = []

        public var settled: Int { provisioned.count + failed.count }
    }

    /// Settles the intents a killed process left in the spool folder
    /// (`InstallIntent`): each becomes the card's record, with its identity,
    /// delivered like any other. Intents of a process still running are its own.
    public static func settleIntents(_ recorder: ResultRecorder, busyTimeout: Double = 5) -> Settlement {
        var settlement = Settlement()
        let spool = recorder.settings.spool
        let found: [InstallIntent]
        do {
            (found, settlement.unreadable) = try spool.intents()
        } catch {
            settlement.unsettled.append("\(error)")
            return settlement
        }
        for intent in found where !LiveProcess.isRunning(intent.pid) {
            let identity = intent.record.cardIdentity ?? "unidentified"
            do {
                let committed = try InstallCheck.committed(tree: intent.tree, cardIdentity: identity,
                                                           installTime: intent.installTime, busyTimeout: busyTimeout)
                var record = intent.record
                if !committed {
                    let status = ExitStatus.interrupted
                    record.outcome = .failed
                    record.failureClass = status.failureClass
                    record.exitCode = status.rawValue
                    record.added = []
                    record.error = "dmboot (process \(intent.pid)) ended before this card's install into \(intent.tree) "
                        + "committed; the tree was not changed"
                }
                try recorder.finish(nil, record)
                try spool.removeIntent(record.recordID)
                if committed { settlement.provisioned.append(identity) } else { settlement.failed.append(identity) }
            } catch {
                settlement.unsettled.append("\(identity): \(error)")
            }
        }
        return settlement
    }

    /// The database's form of a card result.
    static func record(of result: CardResult, id: UUID) -> ResultRecord {
        let outcome: ResultRecord.Outcome
        if result.succeeded {
            outcome = result.outcome == ResultRecord.Outcome.unchanged.rawValue ? .unchanged : .provisioned
        } else if result.exitCode == ExitStatus.alreadyProvisioned.rawValue {
            outcome = .alreadyProvisioned
        } else {
            outcome = .failed
        }
        var record = ResultRecord(recordID: id, cardIdentity: result.cardIdentity, stationID: result.stationID,
                                  runID: result.runID, outcome: outcome,
                                  failureClass: result.succeeded ? nil : (result.failureClass ?? result.outcome),
                                  exitCode: result.exitCode, milliseconds: result.milliseconds,
                                  dmbootVersion: result.dmbootVersion, time: result.time)
        record.iccid = result.iccid
        record.pkcs15Serial = result.pkcs15Serial
        record.atr = result.atr
        record.reader = result.reader
        record.added = result.added
        record.replaced = result.replaced
        record.removed = result.removed
        record.apduCount = result.apduCount
        record.kvn = result.kvn
        record.error = result.error
        record.batch = result.batch
        record.operator = result.operator
        return record
    }
}

/// One card's admission: claims the card in the results database (or
/// checks this station's own records while the database is unreachable)
/// before its install, and keeps the claim until the card's record ends it.
public final class CardClaim: CardAdmission {
    struct State {
        var request: AdmissionRequest?
        var claim: ResultRecorder.Claim?
        let recordID = UUID()
        /// Whether this card's `InstallIntent` is on disk.
        var intentWritten = false
    }

    let state = Mutex(State())
    private let recorder: ResultRecorder
    private let context: RunContext
    private let reader: String?

    init(recorder: ResultRecorder, context: RunContext, reader: String?) {
        self.recorder = recorder
        self.context = context
        self.reader = reader
    }

    public func admit(_ card: AdmissionRequest) throws {
        let recordID = state.withLock { state in
            state.request = card
            return state.recordID
        }
        var record = ResultRecord(recordID: recordID, cardIdentity: card.cardIdentity, stationID: context.stationID,
                                  runID: context.runID, outcome: .provisioned, failureClass: nil, exitCode: 0,
                                  milliseconds: 0, dmbootVersion: context.dmbootVersion, time: Date())
        record.pkcs15Serial = card.pkcs15Serial
        record.kvn = card.keyVersion.map(Int.init)
        record.added = card.accounts
        record.batch = context.batch
        record.operator = context.operator
        record.reader = reader
        if card.cardIdentity.hasPrefix("iccid:") { record.iccid = String(card.cardIdentity.dropFirst("iccid:".count)) }
        let claim = try recorder.claim(record)
        state.withLock { $0.claim = claim }
        // Before the tree's commit: a crash from here on leaves a trace that settles the card's record.
        try recorder.settings.spool.writeIntent(InstallIntent(record: record, tree: card.treePath, installTime: card.installTime))
        state.withLock { $0.intentWritten = true }
    }
}
