import APDU
import CardSession
import CardTransport
import Foundation
import KeySources
import Synchronization
import PKCS15
import SecureChannel

/// Runs script lines against a card. Every command is a library call a
/// test can make; the shell and script mode only feed it lines.
public final class ScriptInterpreter {
    public struct Options {
        public var reader: String?
        /// Key file for `scp03 open` when the line names none.
        public var keysFile: String?
        /// Show data the card sent under R-ENCRYPTION (it encrypted it for a reason).
        public var revealSecrets = false
        public var trace = false

        public init() {}
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
        public var expected: String?
        public var ok = true
        public var output: [String] = []
    }

    public var options: Options
    /// Where human-readable lines go.
    public var write: (String) -> Void
    public private(set) var transcript: [Entry] = []
    public private(set) var variables: [String: String] = [:]
    private var context: PCSCContext?
    private var card: PCSCCard?
    private var channel: ISO7816Channel?
    private var secure: SecureCardChannel?
    private var selectedApplication: [UInt8]?
    private var lastResponse: ResponseAPDU?
    private var includeDepth = 0
    private var current: Entry?

    public init(options: Options = Options(), write: @escaping (String) -> Void = { print($0) }) {
        self.options = options
        self.write = write
    }

    deinit {
        card?.disconnect(resetCard: secure != nil)
    }

    /// What the prompt shows: the reader, and the secure channel when one is open.
    public var state: String {
        guard let card else { return "" }
        return card.reader + (secure.map { " scp03 \($0.level.hex)" } ?? "")
    }

    public var readerNames: [String] { (try? context(create: true).readerNames()) ?? [] }

    /// Runs lines in order and stops at the first failure.
    public func run(_ lines: [ScriptLine]) throws {
        for line in lines { try execute(line) }
    }

    public func execute(_ line: ScriptLine) throws {
        let outer = current
        current = Entry(file: line.file, line: line.number, text: line.text)
        defer {
            if let current { transcript.append(current) }
            current = outer
        }
        do {
            try perform(line)
        } catch let failure as ScriptFailure {
            current?.ok = false
            throw failure
        } catch {
            current?.ok = false
            throw ScriptFailure.lineFailed(file: line.file, line: line.number, text: line.text, error: error)
        }
    }

    private func say(_ text: String) {
        current?.output.append(text)
        write(text)
    }

    private func context(create: Bool) throws -> PCSCContext {
        if let context { return context }
        let made = try PCSCContext()
        context = made
        return made
    }

    private func connectedChannel() throws -> CardChannel {
        if let secure { return secure }
        if let channel { return channel }
        try connect(options.reader)
        return channel!
    }

    // MARK: Statements

    private func perform(_ line: ScriptLine) throws {
        switch line.statement {
        case .readers:
            for reader in try context(create: true).readers() {
                say("[\(reader.index)] \(reader.name)  \(reader.cardPresent ? "card  \(reader.atr.hexString)" : "empty")")
            }
        case .connect(let reader):
            try connect(try reader.map(substitute) ?? options.reader)
        case .disconnect:
            disconnect()
            say("disconnected")
        case .reset:
            guard let card else { throw ScriptFailure.notConnected }
            try card.reset()
            endSecureChannel()
            say("reset; ATR \(try card.atr().hexString)")
        case .atr:
            _ = try connectedChannel()
            let bytes = try card!.atr()
            say("ATR \(bytes.hexString)")
            if let atr = try? ATR(bytes: bytes) {
                say("protocols \(atr.protocols.map { "T=\($0)" }.joined(separator: ", ")); historical \(atr.historicalBytes.hexString)\(atr.historicalText.map { " \"\($0)\"" } ?? "")")
            }
        case .send(let hex, let expect):
            try exchange(CommandAPDU(bytes: Hex.decode(try substitute(hex))), expect: expect)
        case .select(let kind, let value, let expect):
            let bytes = try Hex.decode(try substitute(value))
            let command: CommandAPDU
            switch kind {
            case .aid:
                command = ISOCommand.selectApplication(bytes)
            case .fid:
                guard bytes.count == 2 else { throw ScriptFailure.invalidArgument("a file id is 2 bytes") }
                command = ISOCommand.selectFile(UInt16(bytes[0]) << 8 | UInt16(bytes[1]), returnFCP: true)
            case .path:
                let fromMF = bytes.starts(with: [0x3F, 0x00])
                command = ISOCommand.selectPath(fromMF ? Array(bytes.dropFirst(2)) : bytes, fromMF: fromMF, returnFCP: true)
            }
            if kind == .aid && secure != nil {
                say("(selecting an application ends the secure channel session)")
                endSecureChannel()
            }
            try exchange(command, expect: expect)
            if kind == .aid { selectedApplication = bytes }
        case .readBinary(let offset, let length, let expect):
            guard let start = Int(try substitute(offset)), let count = Int(try substitute(length)) else {
                throw ScriptFailure.invalidArgument("read binary takes numbers")
            }
            let limit = secure?.maxResponseData ?? 256
            try exchange(ISOCommand.readBinary(offset: start, length: count == 0 ? min(256, limit) : count), expect: expect)
        case .readRecord(let number, let expect):
            guard let record = Int(try substitute(number)), (1...254).contains(record) else {
                throw ScriptFailure.invalidArgument("a record number is 1 to 254")
            }
            try exchange(ISOCommand.readRecord(record, length: secure.map { min(256, $0.maxResponseData) } ?? 256), expect: expect)
        case .readAll:
            try readAll()
        case .openSecureChannel(let level, let keys, let testKeys):
            try openSecureChannel(level: try substitute(level), keys: try keys.map(substitute), testKeys: testKeys)
        case .closeSecureChannel:
            guard secure != nil else { throw ScriptFailure.invalidArgument("no secure channel is open") }
            endSecureChannel()
            say("secure channel closed here; the card ends its session at the next SELECT of an application or reset")
        case .pkcs15:
            try listPKCS15()
        case .trace(let on):
            options.trace = on
            say("trace \(on ? "on" : "off")")
        case .set(let name, let value):
            variables[name] = try substitute(value)
        case .echo(let text):
            say(try substitute(text))
        case .sleep(let seconds):
            Thread.sleep(forTimeInterval: Double(try substitute(seconds)) ?? 0)
        case .include(let path):
            try include(try substitute(path), from: line.file)
        case .expect(let pattern):
            guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to check yet") }
            try check(lastResponse.status, against: try substitute(pattern), line: line)
        case .help(let topic):
            for text in ShellHelp.text(for: topic) { say(text) }
        }
    }

    private func connect(_ reader: String?) throws {
        disconnect()
        let context = try context(create: true)
        let name = try context.resolveReader(reader)
        let card = try context.connect(reader: name)
        let channel = ISO7816Channel(link: card)
        channel.onExchange = { [weak self] exchange in
            guard let self else { return }
            let wire = ">> \(exchange.command.hexString)  << \(exchange.response.hexString)"
            self.current?.wire.append(wire)
            if self.options.trace { self.write("   wire \(wire)") }
        }
        self.card = card
        self.channel = channel
        say("connected to \(name), \(card.protocolName), ATR \(try card.atr().hexString)")
    }

    private func disconnect() {
        card?.disconnect(resetCard: secure != nil)
        endSecureChannel()
        card = nil
        channel = nil
        selectedApplication = nil
    }

    private func endSecureChannel() {
        secure?.close()
        secure = nil
    }

    private func exchange(_ command: CommandAPDU, expect: String?) throws {
        let target = try connectedChannel()
        let response = try target.transmit(command)
        lastResponse = response
        variables["sw"] = response.status.hex
        variables["sw1"] = Hex.encode([response.status.sw1])
        variables["sw2"] = Hex.encode([response.status.sw2])
        let sensitive = secure?.level.hasResponseEncryption == true && !response.data.isEmpty && !options.revealSecrets
        let shown = sensitive ? "<redacted \(response.data.count) bytes>" : response.data.hexString
        // A redacted response stays redacted in $response too, or echo would show it.
        variables["response"] = shown
        current?.command = command.description
        current?.response = shown
        current?.status = response.status.hex
        say("> \(command)")
        let meaning = options.trace ? "  \(response.status.meaning)" : ""
        say("< \(shown.isEmpty ? "" : shown + " ")\(response.status.hex)\(meaning)")
        if let expect, let line = current {
            try check(response.status, against: try substitute(expect),
                      line: ScriptLine(file: line.file, number: line.line, text: line.text, statement: .expect(expect)))
        }
    }

    /// READ BINARY from offset 0 until the card says the EF ends.
    private func readAll() throws {
        let target = try connectedChannel()
        let chunk = min(256, secure?.maxResponseData ?? 256)
        var content: [UInt8] = []
        var reads = 0
        while content.count <= 0x7FFF {
            let response = try target.transmit(ISOCommand.readBinary(offset: content.count, length: chunk))
            reads += 1
            if response.status == StatusWord(0x6B00) && !content.isEmpty { break }
            guard response.status == .success || response.status == StatusWord(0x6282) else {
                throw CardStatusError("READ BINARY at offset \(content.count)", response.status)
            }
            content += response.data
            if response.data.count < chunk || response.status != .success { break }
        }
        lastResponse = ResponseAPDU(data: content, status: .success)
        variables["sw"] = "9000"
        let sensitive = secure?.level.hasResponseEncryption == true && !options.revealSecrets
        let shown = sensitive ? "<redacted \(content.count) bytes>" : content.hexString
        variables["response"] = shown
        current?.response = shown
        current?.status = "9000"
        say("< \(shown) (\(content.count) bytes in \(reads) READ BINARY)")
    }

    private func check(_ status: StatusWord, against text: String, line: ScriptLine) throws {
        let pattern = try StatusPattern(text)
        current?.expected = pattern.description
        guard pattern.matches(status) else {
            throw ScriptFailure.expectationFailed(file: line.file, line: line.number, text: line.text,
                                                  expected: pattern.description, actual: status)
        }
    }

    private func openSecureChannel(level: String, keys: String?, testKeys: Bool) throws {
        guard let channel = try connectedChannel() as? ISO7816Channel else {
            throw ScriptFailure.invalidArgument("a secure channel is already open; scp03 close first")
        }
        let warnings = Mutex<[String]>([])
        let loaded = try KeySourceResolver(warn: { message in warnings.withLock { $0.append(message) } })
            .resolve(KeySources.KeyOptions(keys: testKeys ? nil : keys ?? options.keysFile, globalPlatformTestKeys: testKeys))
        warnings.withLock { $0 }.forEach(say)
        let host = SCP03Host(keySource: loaded.source, level: try SecurityLevel(text: level), mode: loaded.mode,
                             applicationID: selectedApplication)
        let opened = try host.open(over: channel)
        opened.onExchange = { [weak self] plain, wrapped, _, _ in
            guard let self, self.options.trace else { return }
            self.write("   plain \(plain)  wrapped \(wrapped)")
        }
        secure = opened
        let answer = opened.handshake.initializeUpdate
        say("SCP03 open: level \(opened.level), key version \(Hex.encode([answer.keyVersion])), i \(Hex.encode([answer.options.rawValue]))\(opened.handshake.pseudoRandomChallengeVerified ? ", pseudo-random challenge verified" : "")")
    }

    private func listPKCS15() throws {
        if secure != nil {
            say("(listing selects the PKCS#15 application in clear, which ends the secure channel session)")
            endSecureChannel()
        }
        guard let channel = try connectedChannel() as? ISO7816Channel else { return }
        var reader = BootstrapReader(keys: nil)
        reader.readsObjects = false
        let contents = try reader.read(over: channel, atr: try card!.atr()).contents
        selectedApplication = contents.application.applicationID
        say("PKCS#15 \(contents.application.applicationID.hexString), serial \(contents.tokenInfo.serialHex)\(contents.tokenInfo.label.map { " \"\($0)\"" } ?? "")")
        let navigator = PKCS15Navigator(application: contents.application)
        for entry in contents.dataObjects {
            var path = "no value"
            if case .path(let value)? = entry.value { path = "\(value)" }
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            say("  \(entry.kind.rawValue)  \(entry.label ?? "(no label)")\(entry.oid.map { "  \($0)" } ?? "")  \(path)\(role)")
        }
    }

    private func include(_ path: String, from file: String) throws {
        guard includeDepth < 8 else { throw ScriptFailure.invalidArgument("includes nest deeper than 8") }
        let resolved = path.hasPrefix("/") || file.hasPrefix("<")
            ? path : ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent(path)
        let text: String
        do {
            text = try String(contentsOfFile: resolved, encoding: .utf8)
        } catch {
            throw ScriptFailure.unreadableScript(resolved)
        }
        let lines = try ScriptParser().parse(text, file: resolved)
        includeDepth += 1
        defer { includeDepth -= 1 }
        try run(lines)
    }

    /// Replaces $name and ${name} with variable values ($sw, $sw1, $sw2, $response, and set ones).
    func substitute(_ text: String) throws -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            var nameStart = text.index(after: index)
            var braced = false
            if nameStart < text.endIndex && text[nameStart] == "{" {
                braced = true
                nameStart = text.index(after: nameStart)
            }
            var nameEnd = nameStart
            while nameEnd < text.endIndex && (text[nameEnd].isLetter || text[nameEnd].isNumber || text[nameEnd] == "_") {
                nameEnd = text.index(after: nameEnd)
            }
            let name = String(text[nameStart..<nameEnd])
            guard !name.isEmpty, let value = variables[name] else { throw ScriptFailure.unknownVariable(name) }
            result += value
            index = nameEnd
            if braced {
                guard index < text.endIndex, text[index] == "}" else { throw ScriptFailure.unknownVariable(name) }
                index = text.index(after: index)
            }
        }
        return result
    }
}

/// Why a script stopped.
public enum ScriptFailure: Error, CustomStringConvertible {
    case expectationFailed(file: String, line: Int, text: String, expected: String, actual: StatusWord)
    case lineFailed(file: String, line: Int, text: String, error: Error)
    case notConnected
    case invalidArgument(String)
    case unknownVariable(String)
    case unreadableScript(String)

    public var description: String {
        switch self {
        case .expectationFailed(let file, let line, let text, let expected, let actual):
            return "\(file):\(line): expected status \(expected), the card answered \(actual)\n    \(text)"
        case .lineFailed(let file, let line, let text, let error):
            return "\(file):\(line): \(error)\n    \(text)"
        case .notConnected: return "no card is connected; connect first"
        case .invalidArgument(let reason): return reason
        case .unknownVariable(let name): return "no variable \"\(name)\" (set it first, or use $sw, $sw1, $sw2, $response)"
        case .unreadableScript(let path): return "cannot read the script \(path)"
        }
    }

    /// The error below the line, for exit codes.
    public var underlying: Error? {
        if case .lineFailed(_, _, _, let error) = self { return error }
        return nil
    }
}
