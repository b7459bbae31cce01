import CardResults
import CardTransport
import ExitContract
import Foundation
import Provisioning

/// Who is provisioning: the same for every card of a run, written into each
/// result.
public struct RunContext: Sendable {
    public var command: String
    public var stationID: String
    public var runID: UUID
    public var dmbootVersion: String

    public init(command: String, stationID: String = ProcessInfo.processInfo.hostName, runID: UUID = UUID(),
                dmbootVersion: String) {
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
        result.error = "\(error)"
        return result
    }
}

/// One card at a station: its own PC/SC context (contexts stay on their
/// thread), an exclusive connection, the whole provisioning, and a reset at
/// the end.
public struct StationJob: Sendable {
    public let provisioner: Provisioner
    public let context: RunContext

    public init(provisioner: Provisioner, context: RunContext) {
        self.provisioner = provisioner
        self.context = context
    }

    public func run(reader name: String) -> CardResult {
        let time = Date()
        let started = ContinuousClock.now
        do {
            let pcsc = try PCSCContext()
            let card = try pcsc.connect(reader: name, share: .exclusive)
            defer { card.disconnect(resetCard: true) }
            let report = try provisioner.provision(over: ISO7816Channel(link: card), atr: try card.atr())
            return context.result(of: report, reader: name, time: time, duration: ContinuousClock.now - started)
        } catch {
            return context.result(of: error, reader: name, time: time, duration: ContinuousClock.now - started)
        }
    }
}

extension Duration {
    /// Milliseconds with a fractional part.
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
