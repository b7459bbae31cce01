import APDU
import CardResults
import CardTransport
import ExitContract
import Foundation
import Provisioning
import Synchronization

/// Who is provisioning: the same for every card of a run, written into each
/// result.
public struct RunContext: Sendable {
    public var command: String
    public var stationID: String
    public var runID: UUID
    public var dmbootVersion: String
    /// `--batch` and `--operator`, on every result of the run.
    public var batch: String?
    public var `operator`: String?

    public init(command: String, stationID: String = ProcessInfo.processInfo.hostName, runID: UUID = UUID(),
                dmbootVersion: String, batch: String? = nil, operator: String? = nil) {
        self.batch = batch
        self.operator = `operator`
        self.command = command
        self.stationID = stationID
        self.runID = runID
        self.dmbootVersion = dmbootVersion
    }

    /// The result of a provisioning that ended with `report`.
    public func result(of report: Provisioner.Report, reader: String, time: Date, duration: Duration) -> CardResult {
        var result = CardResult(time: time, command: command, stationID: stationID, runID: runID, reader: reader,
                                outcome: report.install.changesTree ? "provisioned" : "unchanged", failureClass: nil,
                                exitCode: ExitStatus.success.rawValue, milliseconds: duration.milliseconds,
                                dmbootVersion: dmbootVersion)
        result.batch = batch
        result.operator = `operator`
        result.cardIdentity = report.cardIdentity
        result.pkcs15Serial = report.card.contents.tokenInfo.serialHex
        result.added = report.install.added
        result.replaced = report.install.replaced
        result.removed = report.install.removed
        result.unchanged = report.install.unchanged
        result.apduCount = report.card.apduCount
        result.kvn = report.card.handshake.map { Int($0.initializeUpdate.keyVersion) }
        result.tree = report.treePath
        result.warnings = report.warnings.map(\.description)
        return result
    }

    /// The result of a provisioning that failed with `error`, classified by the error itself.
    public func result(of error: Error, reader: String, time: Date, duration: Duration) -> CardResult {
        let status = ExitStatus.of(error)
        var result = CardResult(time: time, command: command, stationID: stationID, runID: runID, reader: reader,
                                outcome: status.failureClass, failureClass: status.failureClass,
                                exitCode: status.rawValue, milliseconds: duration.milliseconds,
                                dmbootVersion: dmbootVersion)
        result.batch = batch
        result.operator = `operator`
        result.error = "\(error)"
        return result
    }
}

/// One card at a station: its own PC/SC context (contexts stay on their
/// thread), an exclusive connection that starts with a reset (a known state
/// whatever the last client did), the whole provisioning, and a reset at the
/// end.
public struct StationJob: Sendable {
    public let provisioner: Provisioner
    public let context: RunContext

    public init(provisioner: Provisioner, context: RunContext) {
        self.provisioner = provisioner
        self.context = context
    }

    /// Every card of the run that was provisioned, to tell a card seen twice.
    public let seen = SeenCards()

    /// The card in reader `name`, logged with every identity read before
    /// anything failed: the ATR at least, the PKCS#15 serial once TokenInfo
    /// was read.
    public func run(reader name: String) -> CardResult {
        let time = Date()
        let started = ContinuousClock.now
        let read = Mutex<(atr: String?, iccid: String?, serial: String?, identity: String?)>((nil, nil, nil, nil))
        do {
            let pcsc = try PCSCContext()
            let card = try pcsc.connect(reader: name, share: .exclusive, reset: true)
            defer { card.disconnect(resetCard: true) }
            let atr = try card.atr()
            read.withLock { $0.atr = Hex.encode(atr) }
            var provisioner = self.provisioner
            provisioner.onIdentified = { iccid, serial, identity in read.withLock { $0 = ($0.atr, iccid, serial, identity) } }
            let report = try provisioner.provision(over: ISO7816Channel(link: card), atr: atr)
            var result = context.result(of: report, reader: name, time: time, duration: ContinuousClock.now - started)
            read.withLock { known in
                result.atr = known.atr
                result.iccid = known.iccid
            }
            return seen.classify(result)
        } catch {
            var result = context.result(of: error, reader: name, time: time, duration: ContinuousClock.now - started)
            read.withLock { known in
                result.atr = known.atr
                result.iccid = known.iccid
                result.pkcs15Serial = known.serial
                result.cardIdentity = known.identity
            }
            return result
        }
    }
}

/// The cards a run has provisioned. A card provisioned a second time in the
/// same run (put back into a reader) is reported as a duplicate, not as one
/// more card done: the line's count must not be inflated by one card.
public final class SeenCards: Sendable {
    private let identities = Mutex<Set<String>>([])

    public init() {}

    /// `result`, with the outcome "duplicate" when its card was already provisioned in this run.
    public func classify(_ result: CardResult) -> CardResult {
        guard result.succeeded, let identity = result.cardIdentity else { return result }
        let first = identities.withLock { $0.insert(identity).inserted }
        guard !first else { return result }
        var duplicate = result
        duplicate.outcome = CardResult.duplicateOutcome
        return duplicate
    }
}
