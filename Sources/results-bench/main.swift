import Foundation
import JSONOutput
import Results
import Synchronization

// The writer side of scripts/bench-results.sh (a benchmark, not a test):
// WRITERS simulated stations, each with its own connection and spool, record
// RECORDS cards each the way a station does (claim before the install, the
// record after it), all at once against one database. Prints one JSON line.
//
// usage: results-bench URL WRITERS RECORDS [--spool-only]

let arguments = CommandLine.arguments
guard arguments.count >= 4, let writers = Int(arguments[2]), let perWriter = Int(arguments[3]), writers > 0,
      perWriter > 0 else {
    FileHandle.standardError.write(Data("usage: results-bench URL WRITERS RECORDS [--spool-only]\n".utf8))
    exit(2)
}
let spoolOnly = arguments.contains("--spool-only")
let url = spoolOnly ? "postgresql:///none?host=/nonexistent-results-bench" : arguments[1]
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("results-bench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: folder) }

let recorders = try (0..<writers).map { index in
    let state = folder.appendingPathComponent("writer-\(index)")
    return try ResultRecorder(settings: ResultRecorder.Settings(
        url: url, spool: ResultSpool(directory: state.appendingPathComponent("spool").path),
        knownCards: KnownCards(path: state.appendingPathComponent("provisioned-cards").path), dmbootVersion: "bench"))
}
let latencies = Mutex<[Double]>([])
let failures = Mutex<[String]>([])
let start = DispatchSemaphore(value: 0)
let group = DispatchGroup()
let run = UUID()
for (index, recorder) in recorders.enumerated() {
    let thread = Thread {
        start.wait()
        var mine: [Double] = []
        for card in 0..<perWriter {
            var record = ResultRecord(cardIdentity: "bench:\(run.uuidString.prefix(8)):\(index):\(card)",
                                      stationID: "bench-\(index)", runID: run, outcome: .provisioned, failureClass: nil,
                                      exitCode: 0, milliseconds: 11, dmbootVersion: "bench", time: Date())
            record.added = ["DemoServer"]
            record.apduCount = 21
            let began = ContinuousClock.now
            do {
                let claim = try recorder.claim(record)
                try recorder.finish(claim, record)
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
            let took = ContinuousClock.now - began
            mine.append(Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15)
        }
        latencies.withLock { $0 += mine }
        group.leave()
    }
    group.enter()
    thread.start()
}
let began = ContinuousClock.now
for _ in recorders { start.signal() }
group.wait()
let wall = ContinuousClock.now - began
let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
let sorted = latencies.withLock { $0 }.sorted()
func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))] }
/// The one line this benchmark prints; bench-results.sh reads it as JSON Lines.
struct Figures: Encodable {
    let writers: Int
    let records: Int
    let seconds: Double
    let perSecond: Double
    let p50: Double
    let p90: Double
    let p99: Double
    let max: Double
    let failed: Int
    let spooled: Int
}

let figures = Figures(writers: writers, records: sorted.count, seconds: seconds, perSecond: Double(sorted.count) / seconds,
                      p50: percentile(50), p90: percentile(90), p99: percentile(99), max: sorted.last ?? 0,
                      failed: failures.withLock { $0.count }, spooled: recorders.map(\.spooledCount).reduce(0, +))
FileHandle.standardOutput.write(try JSONOutput.line(figures))
