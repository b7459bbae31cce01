import CardResults
import ExitContract
import Foundation
import Results
import Station
import StationPipeline
import StationResults
import Synchronization

/// dmboot-dashboard, the web server that dmboot starts for `dashboard` and
/// `station --metrics`, installed beside dmboot: NIO and Hummingbird live in
/// that process alone, so no other command of dmboot loads them.
enum Companion {
    static func path() throws -> String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let path = me.deletingLastPathComponent().appendingPathComponent("dmboot-dashboard").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw CompanionError.missing(path) }
        return path
    }
}

enum CompanionError: Error, CustomStringConvertible, ClassifiedFailure {
    case missing(String)
    case failed(String)

    var description: String {
        switch self {
        case .missing(let path): return "\(path) is missing or not executable: install dmboot-dashboard beside dmboot"
        case .failed(let reason): return "the metrics endpoint did not start: \(reason)"
        }
    }

    var exitStatus: ExitStatus { .dashboardUnavailable }
}

/// `station --metrics`: dmboot-dashboard serves /metrics; the station hands
/// it each new exposition on a pipe ("<byte count>\n<text>"). The server
/// ends when the pipe does, so it never outlives the station.
final class MetricsEndpoint: Sendable {
    private let process: Process
    private let input: FileHandle
    /// What the server printed once it listened: http://HOST:PORT/metrics.
    let url: String

    init(listen: String) throws {
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Companion.path())
        process.arguments = ["metrics", "--listen", listen]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let line = Self.firstLine(of: output.fileHandleForReading)
        guard let line, line.hasPrefix("http://") else {
            input.fileHandleForWriting.closeFile()
            process.waitUntilExit()
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw CompanionError.failed(said.isEmpty ? "dmboot-dashboard exited with status \(process.terminationStatus)" : said)
        }
        self.process = process
        self.input = input.fileHandleForWriting
        self.url = line
    }

    /// The first line the server writes, or nil when it ends first.
    private static func firstLine(of handle: FileHandle) -> String? {
        var data = Data()
        while !data.contains(0x0A) {
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            data.append(chunk)
        }
        return String(decoding: data.prefix { $0 != 0x0A }, as: UTF8.self)
    }

    func publish(_ text: String) {
        let body = Data(text.utf8)
        try? input.write(contentsOf: Data("\(body.count)\n".utf8) + body)
    }

    /// Ends the server (its stdin closes) and waits for it.
    func stop() {
        try? input.close()
        process.waitUntilExit()
    }
}

/// `station --on-stop COMMAND`: run with /bin/sh when the station stops the
/// line or exits on an error, with the reason in its environment, so that
/// someone is told. Its own failure is said, never the station's status.
struct StopNotice {
    let command: String

    func run(reason: String, status: ExitStatus, stationID: String, runID: UUID, batch: String?, say: (String) -> Void) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["DMBOOT_STOP_REASON"] = reason
        environment["DMBOOT_STOP_STATUS"] = "\(status.rawValue)"
        environment["DMBOOT_STOP_CLASS"] = status.failureClass
        environment["DMBOOT_STATION_ID"] = stationID
        environment["DMBOOT_RUN_ID"] = runID.uuidString.lowercased()
        environment["DMBOOT_BATCH"] = batch ?? ""
        process.environment = environment
        do {
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus != 0 { say("--on-stop: the command exited with status \(process.terminationStatus)") }
        } catch {
            say("--on-stop: the command could not start: \(error)")
        }
    }
}

/// What a running station tells beyond its terminal: the metrics endpoint
/// (`--metrics`) and its status in the results database (the heartbeat the
/// dashboard reads). Each part is there only when asked for.
final class LineReports: Sendable {
    private let metrics: StationMetrics?
    private let endpoint: MetricsEndpoint?
    private let heartbeat: StationHeartbeat?
    private let database: DatabaseResults?

    init(metrics listen: String?, database: DatabaseResults?, context: RunContext) throws {
        self.database = database
        heartbeat = database.map { StationHeartbeat(settings: $0.recorder.settings, context: context) }
        endpoint = try listen.map(MetricsEndpoint.init(listen:))
        metrics = endpoint.map { _ in StationMetrics(station: context.stationID) }
        publish()
    }

    /// Where the metrics are served, once they are.
    var metricsURL: String? { endpoint?.url }

    func note(_ result: CardResult) {
        metrics?.note(result)
        publish()
    }

    func show(_ readers: [String: ReaderActivity]) {
        metrics?.show(readers)
        heartbeat?.show(readers)
        publish()
    }

    func publish() {
        guard let metrics, let endpoint else { return }
        let up = database.map { results -> Bool in
            if case .connected = results.recorder.status { return true }
            return false
        }
        metrics.database(up: up, spooled: database?.recorder.spooledCount ?? 0)
        endpoint.publish(metrics.exposition())
    }

    /// The station's last word: how it ended, and why; the endpoint closes.
    func finish(_ state: StationStatus.State, reason: String?, lineStopped: Bool) {
        if lineStopped { metrics?.lineStopped() }
        publish()
        heartbeat?.finish(state, reason: reason)
        endpoint?.stop()
    }
}
