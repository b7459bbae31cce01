import APDU
import CardTransport
import Foundation

extension ScriptInterpreter {
    /// One APDU on the wire, with what identifies the card and the channel.
    public struct Exchange {
        public var time: String
        public var reader: String
        public var atr: String
        public var protocolName: String
        public var channel: Int
        public var command: String
        public var response: String
    }

    /// One executed line, for the --json transcript.
    public struct Entry {
        public var file: String
        public var line: Int
        public var text: String
        public var command: String?
        public var response: String?
        public var status: String?
        public var wire: [String] = []
        public var exchanges: [Exchange] = []
        public var expected: String?
        public var ok = true
        public var output: [String] = []
    }
}

/// Shows what each line does as it happens and keeps it, line by line, for
/// the --json transcript: both must tell the same story, so one type does both.
final class TranscriptRecorder {
    private let write: (String) -> Void
    /// Whether every APDU on the wire (and inside a secure channel) is shown too.
    var trace: Bool
    private(set) var entries: [ScriptInterpreter.Entry] = []
    /// The line running now; nil between lines and inside blocks, which are not lines of their own.
    var current: ScriptInterpreter.Entry?
    /// While set, the commands on the wire carry PINs: the transcript keeps
    /// their header only, and the trace shows nothing of their plain or wrapped form.
    private var hidesCommandData = false
    private let timeFormat: ISO8601DateFormatter = {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format
    }()

    init(trace: Bool, write: @escaping (String) -> Void) {
        self.trace = trace
        self.write = write
    }

    /// Runs one line as its own entry; a line that throws is kept, marked failed.
    func recording(_ line: ScriptLine, _ body: () throws -> Void) rethrows {
        let outer = current
        current = ScriptInterpreter.Entry(file: line.file, line: line.number, text: line.text)
        defer {
            if let current { entries.append(current) }
            current = outer
        }
        do {
            try body()
        } catch {
            current?.ok = false
            throw error
        }
    }

    func say(_ text: String) {
        current?.output.append(text)
        write(text)
    }

    /// Shown only under `trace on`, and never part of the line's output.
    func traced(_ text: @autoclosure () -> String) {
        if trace && !hidesCommandData { write(text()) }
    }

    /// Runs `body`, whose commands carry secrets, with their data kept out of every record.
    func hidingCommandData<T>(_ body: () throws -> T) rethrows -> T {
        hidesCommandData = true
        defer { hidesCommandData = false }
        return try body()
    }

    func record(_ exchange: WireExchange, reader: String, atr: [UInt8], protocolName: String) {
        let command = hidesCommandData
            ? Array(exchange.command.prefix(4)).hexString + " <\(max(0, exchange.command.count - 4)) bytes not shown>"
            : exchange.command.hexString
        let line = ">> \(command)  << \(exchange.response.hexString)"
        current?.wire.append(line)
        current?.exchanges.append(ScriptInterpreter.Exchange(
            time: timeFormat.string(from: Date()), reader: reader, atr: atr.hexString, protocolName: protocolName,
            channel: exchange.command.first.map { LogicalChannel.decode(cla: $0).number } ?? 0,
            command: command, response: exchange.response.hexString))
        if trace { write("   wire \(line)") }
    }
}
