import APDU
import Foundation

/// One event as dmboot reports it, with an inserted card's ATR decoded
/// (ISO/IEC 7816-3: convention, protocols, Fi/Di of TA1, historical bytes,
/// and the card capabilities of ISO/IEC 7816-4 8.1.1.2.7 that announce
/// extended length). `readers --watch` prints it; apdu-shell's `watch` too.
public struct ReaderEventReport: Sendable {
    public let time: String
    public let event: String
    public let reader: String
    public private(set) var atr: String?
    public private(set) var convention: String?
    public private(set) var protocols: [String]?
    public private(set) var fi: Int?
    public private(set) var di: Int?
    public private(set) var historicalBytes: String?
    public private(set) var historicalText: String?
    public private(set) var extendedLength: Bool?
    /// Why the ATR does not parse, when it does not.
    public private(set) var atrProblem: String?

    public init(_ event: ReaderEvent, atr bytes: [UInt8]?, now: Date = Date()) {
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
    public var text: String {
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

/// The events of the readers as they happen, each with its report, until `stop` says so.
public enum ReaderWatchLoop {
    /// Runs until the monitor is cancelled; `report` sees every event, the
    /// readers there at the start included.
    public static func run(_ monitor: ReaderMonitor, report: (ReaderEventReport) throws -> Void) throws {
        let context = try PCSCContext()
        var events = ReaderEvents()
        var picture: [ReaderSnapshot]? = try monitor.snapshot()
        while let readers = picture {
            let states = try? context.readers()
            for event in events.next(readers) {
                let atr = event == .cardInserted(event.reader) ? states?.first { $0.name == event.reader }?.atr : nil
                try report(ReaderEventReport(event, atr: atr))
            }
            picture = try monitor.waitForChange()
        }
    }
}
