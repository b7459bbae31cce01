import APDU
import CardTransport
import CommandLineSupport
import Foundation
import JSONOutput
import TerminalText

/// `dmboot readers --watch`: readers arriving and leaving, cards inserted
/// and removed, each inserted card's ATR decoded (ISO/IEC 7816-3: convention,
/// protocols, Fi/Di, historical bytes, and the card capabilities of
/// ISO/IEC 7816-4 8.1.1.2.7 that announce extended length), until SIGINT or
/// SIGTERM. One line per event, or one JSON object per line with --json.
struct ReaderWatch {
    let json: Bool

    func run() throws {
        let monitor = try ReaderMonitor()
        let context = try PCSCContext()
        let stop = Termination { monitor.cancel() }
        defer { stop.cancel() }
        var events = ReaderEvents()
        var picture: [ReaderSnapshot]? = try monitor.snapshot()
        while let readers = picture {
            let states = try? context.readers()
            for event in events.next(readers) {
                let atr = states?.first { $0.name == event.reader }?.atr
                try emit(ReaderEventLine(event, atr: event == .cardInserted(event.reader) ? atr : nil))
            }
            picture = try monitor.waitForChange()
        }
    }

    private func emit(_ line: ReaderEventLine) throws {
        if json {
            let text = String(decoding: try JSONOutput.line(line), as: UTF8.self)
            FileHandle.standardOutput.write(Data((TerminalText.escapeJSON(text) + "\n").utf8))
        } else {
            Output.line(line.text)
        }
    }
}

/// One event as `readers --watch` reports it.
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
    /// Why the ATR does not parse, when it does not.
    @NullWhenAbsent var atrProblem: String?

    init(_ event: ReaderEvent, atr bytes: [UInt8]?, now: Date = Date()) {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        time = format.string(from: now)
        self.event = event.name
        reader = event.reader
        guard let bytes else { return }
        atr = bytes.hexString
        do {
            let parsed = try ATR(bytes: bytes)
            convention = parsed.convention.rawValue
            protocols = parsed.protocols.map { "T=\($0)" }
            fi = parsed.clockRateConversion?.fi
            di = parsed.clockRateConversion?.di
            historicalBytes = parsed.historicalBytes.hexString
            historicalText = parsed.historicalText
            extendedLength = parsed.supportsExtendedLength
        } catch {
            atrProblem = "\(error)"
        }
    }

    /// The human form: time, event, reader, and for an inserted card its ATR decoded.
    var text: String {
        var line = "\(time)  \(event)  \(reader)"
        if let atr { line += "  ATR \(atr)" }
        if let protocols, let convention { line += "  \(protocols.joined(separator: ", ")), \(convention) convention" }
        if let fi, let di { line += ", Fi \(fi) Di \(di)" }
        if let historicalBytes {
            line += ", historical bytes \(historicalBytes)" + (historicalText.map { " \"\($0)\"" } ?? "")
        }
        if let extendedLength { line += ", extended length \(extendedLength ? "announced" : "not announced")" }
        if let atrProblem { line += "  (ATR does not parse: \(atrProblem))" }
        return line
    }
}
