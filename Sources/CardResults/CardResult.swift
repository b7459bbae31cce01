import Foundation
import LineFigures

/// What became of one card, as the station log, `provision --json-log` and
/// any other `ResultSink` record it. Identities, counts and names only:
/// never a key, a PSK, a PIN or a bootstrap's content.
public struct CardResult: Codable, Sendable, Equatable {
    /// When the card was taken.
    public var time: Date
    /// "station" or "provision".
    public var command: String
    /// The machine that provisioned the card.
    public var stationID: String
    /// One per dmboot process: the results of a run belong together.
    public var runID: UUID
    /// The batch of cards and who ran the line (`--batch`, `--operator`); nil when not given.
    public var batch: String?
    public var `operator`: String?
    public var reader: String
    /// What makes the card unique ("pkcs15:<serial>", or "iccid:<digits>"); nil when it failed before.
    public var cardIdentity: String?
    public var iccid: String?
    public var pkcs15Serial: String?
    /// The card's answer to reset, hex: known for every card that answered, even one that failed at once.
    public var atr: String?
    /// "provisioned", "unchanged", or the failure class (`ExitStatus.failureClass`).
    public var outcome: String
    /// The failure class; nil on success.
    public var failureClass: String?
    /// What `dmboot provision` exits with for this card.
    public var exitCode: Int32
    public var added: [String] = []
    public var replaced: [String] = []
    public var removed: [String] = []
    public var unchanged: [String] = []
    public var apduCount: Int?
    public var milliseconds: Double
    public var dmbootVersion: String
    /// The SCP03 key version the card answered INITIALIZE UPDATE with.
    public var kvn: Int?
    public var tree: String?
    /// Validation warnings of the card's bootstrap (installed: the policy is not strict).
    public var warnings: [String] = []
    /// The error's message; nil on success.
    public var error: String?

    public init(time: Date, command: String, stationID: String, runID: UUID, reader: String, outcome: String,
                failureClass: String?, exitCode: Int32, milliseconds: Double, dmbootVersion: String) {
        self.time = time
        self.command = command
        self.stationID = stationID
        self.runID = runID
        self.reader = reader
        self.outcome = outcome
        self.failureClass = failureClass
        self.exitCode = exitCode
        self.milliseconds = milliseconds
        self.dmbootVersion = dmbootVersion
    }

    public var succeeded: Bool { exitCode == 0 }

    /// The outcome of a card refused because it was already provisioned (a
    /// results database or the station's own records hold its success):
    /// the failure class of `ExitStatus.alreadyProvisioned`.
    public static let alreadyProvisionedOutcome = "alreadyProvisioned"
    /// The outcome of a card provisioned a second time in the same run.
    public static let duplicateOutcome = LineFigures.duplicateOutcome

    /// What the card counts as in every figure of the line (LineFigures).
    public var kind: LineFigures.Kind { .of(outcome: outcome, exitCode: exitCode, failureClass: failureClass) }

    /// A card the line had already done, refused or done again: it tells
    /// about the card, not about whether the line works.
    public var isDuplicate: Bool { kind == .duplicate }

    enum CodingKeys: String, CodingKey {
        case time, command, stationID, runID, batch, `operator`, reader, cardIdentity, iccid, pkcs15Serial, atr, outcome, failureClass, exitCode
        case added, replaced, removed, unchanged, apduCount, milliseconds, dmbootVersion, kvn, tree, warnings, error
    }

    /// Every key is written, absent values as null, so that a log line
    /// always has the same fields.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(time, forKey: .time)
        try container.encode(command, forKey: .command)
        try container.encode(stationID, forKey: .stationID)
        try container.encode(runID, forKey: .runID)
        try container.encode(batch, forKey: .batch)
        try container.encode(`operator`, forKey: .operator)
        try container.encode(reader, forKey: .reader)
        try container.encode(cardIdentity, forKey: .cardIdentity)
        try container.encode(iccid, forKey: .iccid)
        try container.encode(pkcs15Serial, forKey: .pkcs15Serial)
        try container.encode(atr, forKey: .atr)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(failureClass, forKey: .failureClass)
        try container.encode(exitCode, forKey: .exitCode)
        try container.encode(added, forKey: .added)
        try container.encode(replaced, forKey: .replaced)
        try container.encode(removed, forKey: .removed)
        try container.encode(unchanged, forKey: .unchanged)
        try container.encode(apduCount, forKey: .apduCount)
        try container.encode(milliseconds, forKey: .milliseconds)
        try container.encode(dmbootVersion, forKey: .dmbootVersion)
        try container.encode(kvn, forKey: .kvn)
        try container.encode(tree, forKey: .tree)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(error, forKey: .error)
    }
}

/// Where card results go: the JSON Lines log today; a results database is
/// another implementation. `record` is called once per card, from any thread.
public protocol ResultSink: Sendable {
    func record(_ result: CardResult) throws
}

extension LineFigures {
    /// Counts one card's result.
    public mutating func add(_ result: CardResult) {
        add(result.kind, start: result.time, milliseconds: result.milliseconds)
    }
}

/// Several sinks as one, each given every result. The first failure is
/// thrown after every sink has had the result.
public struct ResultSinks: ResultSink {
    public let sinks: [any ResultSink]

    public init(_ sinks: [any ResultSink]) {
        self.sinks = sinks
    }

    public func record(_ result: CardResult) throws {
        var failure: Error?
        for sink in sinks {
            do { try sink.record(result) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }
}

extension Duration {
    /// Milliseconds with a fractional part, as results carry a card's time.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
