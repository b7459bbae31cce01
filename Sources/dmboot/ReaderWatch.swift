import CardTransport
import CommandLineSupport
import Foundation
import JSONOutput
import TerminalText

/// `dmboot readers --watch`: every reader and card event (`ReaderWatchLoop`)
/// until SIGINT or SIGTERM; one line per event, or one JSON object per line.
struct ReaderWatch {
    let json: Bool

    func run() throws {
        let monitor = try ReaderMonitor()
        let stop = Termination { monitor.cancel() }
        defer { stop.cancel() }
        try ReaderWatchLoop.run(monitor) { report in
            if json {
                let text = String(decoding: try JSONOutput.line(ReaderEventLine(report)), as: UTF8.self)
                FileHandle.standardOutput.write(Data((TerminalText.escapeJSON(text) + "\n").utf8))
            } else {
                Output.line(report.text)
            }
        }
    }
}

/// One event as a JSON line: the report's fields, null when absent.
struct ReaderEventLine: Encodable {
    let time: String
    let event: String
    let reader: String
    @NullWhenAbsent var atr: String?
    @NullWhenAbsent var convention: String?
    @NullWhenAbsent var protocols: [String]?
    @NullWhenAbsent var fi: Int?
    @NullWhenAbsent var di: Int?
    @NullWhenAbsent var historicalBytes: String?
    @NullWhenAbsent var historicalText: String?
    @NullWhenAbsent var extendedLength: Bool?
    @NullWhenAbsent var atrProblem: String?

    init(_ report: ReaderEventReport) {
        time = report.time
        event = report.event
        reader = report.reader
        atr = report.atr
        convention = report.convention
        protocols = report.protocols
        fi = report.fi
        di = report.di
        historicalBytes = report.historicalBytes
        historicalText = report.historicalText
        extendedLength = report.extendedLength
        atrProblem = report.atrProblem
    }
}
