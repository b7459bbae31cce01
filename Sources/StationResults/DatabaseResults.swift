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
    public func admission() -> CardClaim {
        CardClaim(recorder: recorder, context: context)
    }

    /// Records the card's result, ending its claim. Returns the result with
    /// the identity the claim learnt filled in (a card refused or failed
    /// after it was identified), and where the record went. Throws only
    /// when the record could be neither stored nor spooled.
    public func record(_ result: CardResult, claim: CardClaim?) throws -> (result: CardResult, delivery: Delivery) {
        var result = result
        let (request, held, recordID) = claim?.state.withLock { ($0.request, $0.claim, $0.recordID) } ?? (nil, nil, UUID())
        if let request, result.cardIdentity == nil {
            result.cardIdentity = request.cardIdentity
            result.pkcs15Serial = request.pkcs15Serial
            result.kvn = result.kvn ?? request.keyVersion.map(Int.init)
        }
        let delivery = try recorder.finish(held, Self.record(of: result, id: recordID))
        return (result, delivery)
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
    }

    let state = Mutex(State())
    private let recorder: ResultRecorder
    private let context: RunContext

    init(recorder: ResultRecorder, context: RunContext) {
        self.recorder = recorder
        self.context = context
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
        let claim = try recorder.claim(record)
        state.withLock { $0.claim = claim }
    }
}
