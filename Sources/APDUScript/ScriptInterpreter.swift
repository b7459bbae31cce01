import APDU
import CardSession
import CardTransport
import Foundation
import KeySources
import Synchronization
import PKCS15
import TerminalText
import SecureChannel

/// Runs script lines against a card. Every command is a library call a
/// test can make; the shell and script mode only feed it lines.
public final class ScriptInterpreter {
    public struct Options {
        public var reader: String?
        /// Key source for `scp03 open` when the line names none.
        public var keysFile: String?
        /// Diversify the keys for each card with KDF3 (`--diversify kdf3`).
        public var diversifyKeys = false
        /// PKCS#11 URI of a key table's key-encryption key.
        public var keyTableKEK: String?
        /// Show data the card sent under R-ENCRYPTION (it encrypted it for a reason).
        public var revealSecrets = false
        public var trace = false

        public init() {}
    }

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

    public var options: Options
    /// Where human-readable lines go.
    public var write: (String) -> Void
    /// The interactive shell's history, for `history`.
    public var history: () -> [String] = { [] }
    public private(set) var transcript: [Entry] = []
    public private(set) var variables: [String: String] = [:]
    /// Longest value a variable may hold: `set x $x$x` must not eat the memory.
    public static let maxVariableLength = 65_536
    private var context: PCSCContext?
    private var card: PCSCCard?
    private var cardATR: [UInt8] = []
    private var wire: ISO7816Channel?
    private var channels: [Int: ChannelSession] = [:]
    private var channelNumber = 0
    private var lastResponse: ResponseAPDU?
    /// What the last response is, when the shell knows (the file read, the command sent).
    private var lastKind: CardDecoder.Kind?
    private var current: Entry?
    private let timeFormat: ISO8601DateFormatter = {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return format
    }()

    public init(options: Options = Options(), write: @escaping (String) -> Void = { print($0) }) {
        self.options = options
        self.write = write
    }

    deinit {
        card?.disconnect(resetCard: channels.values.contains { $0.secure != nil })
    }

    /// What the prompt shows: reader, channel, current DF, secure channel level.
    public var state: String {
        guard let card, let session = channels[channelNumber] else { return "" }
        var text = "\(card.reader) ch\(channelNumber) \(session.location.display)"
        if let secure = session.secure { text += " scp03 \(secure.level.hex)" }
        return text
    }

    public var readerNames: [String] { (try? pcscContext().readerNames()) ?? [] }

    /// Names `cd`, `select` and `cat` understand here, for completion.
    public var navigationNames: [String] {
        var names = WellKnownName.all.map(\.name) + ["..", "/"]
        if let directory = channels[channelNumber]?.pkcs15 {
            names += directory.objects.compactMap(\.label)
        }
        return names
    }

    /// Runs lines in order and stops at the first failure.
    public func run(_ lines: [ScriptLine]) throws {
        for line in lines { try execute(line) }
    }

    public func execute(_ line: ScriptLine) throws {
        if Interrupt.take() { throw ScriptFailure.interrupted }
        if case .ifBlock = line.statement { return try perform(line) }
        if case .repeatBlock = line.statement { return try perform(line) }
        if case .include = line.statement { return try perform(line) }
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

    private func pcscContext() throws -> PCSCContext {
        if let context { return context }
        let made = try PCSCContext()
        context = made
        return made
    }

    /// The channel commands go to, connecting first when no card is.
    private func session() throws -> ChannelSession {
        if card == nil { try connect(options.reader) }
        guard let session = channels[channelNumber] else { throw ScriptFailure.notConnected }
        return session
    }

    // MARK: Statements

    private func perform(_ line: ScriptLine) throws {
        switch line.statement {
        case .readers:
            for reader in try pcscContext().readers() {
                say("[\(reader.index)] \(TerminalText.escape(reader.name))  \(reader.cardPresent ? "card  \(reader.atr.hexString)" : "empty")")
            }
        case .connect(let reader):
            try connect(try reader.map(substitute) ?? options.reader)
        case .disconnect:
            disconnect()
            say("disconnected")
        case .reset:
            guard let card else { throw ScriptFailure.notConnected }
            try card.reset()
            cardATR = try card.atr()
            resetChannels()
            say("reset; ATR \(cardATR.hexString)")
        case .atr:
            _ = try session()
            for text in try CardDecoder.decode(cardATR, as: .atr) { say(text) }
        case .send(let hex, let expect):
            try exchange(CommandAPDU(bytes: Hex.decode(try substitute(hex))), expect: expect)
            lastKind = nil
        case .select(let kind, let value, let expect):
            try select(kind: kind, bytes: try Hex.decode(try substitute(value)), expect: expect)
        case .selectName(let name):
            try navigate(to: try substitute(name))
        case .readBinary(let offset, let length, let expect):
            let start = try bounded(offset, "offset", 0...0x7FFF)
            let count = try bounded(length, "length", 0...CommandAPDU.maxExpectedLength)
            let limit = try session().secure?.maxResponseData ?? 256
            try exchange(ISOCommand.readBinary(offset: start, length: count == 0 ? min(256, limit) : count), expect: expect,
                         dump: true)
        case .readRecord(let number, let expect):
            let record = try bounded(number, "record number", 1...254)
            let limit = try session().secure.map { min(256, $0.maxResponseData) } ?? 256
            try exchange(ISOCommand.readRecord(record, length: limit), expect: expect, dump: true)
        case .readAll:
            try show(try readWholeEF(), label: "READ BINARY")
        case .cat(let name):
            if let name { try navigate(to: try substitute(name)) }
            try cat()
        case .list:
            try list()
        case .decode(let kind, let hex):
            try decode(kind: kind, hex: try hex.map(substitute))
        case .keys:
            try keyInformation()
        case .cplc:
            try productionLifeCycle()
        case .status:
            try registryStatus()
        case .channel(let action):
            try channel(action)
        case .getResponse(let on):
            wire?.followsResponseChain = on
            followsResponseChain = on
            say("getresponse \(on ? "on: 61xx and 6Cxx are followed up" : "off: 61xx and 6Cxx are shown as the card sent them")")
        case .history:
            let entries = history()
            for (index, entry) in entries.enumerated() { say("\(String(repeating: " ", count: max(0, 5 - String(index + 1).count)))\(index + 1)  \(entry)") }
        case .openSecureChannel(let level, let keys, let testKeys):
            try openSecureChannel(level: try substitute(level), keys: try keys.map(substitute), testKeys: testKeys)
        case .closeSecureChannel:
            let session = try session()
            guard session.secure != nil else { throw ScriptFailure.invalidArgument("no secure channel is open on channel \(channelNumber)") }
            session.endSecureChannel()
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
            let text = try substitute(seconds)
            guard let value = Double(text), value.isFinite, (0...ScriptParser.maxSleepSeconds).contains(value) else {
                throw ScriptFailure.invalidArgument("sleep takes seconds from 0 to \(Int(ScriptParser.maxSleepSeconds)); not \"\(text)\"")
            }
            try pause(value)
        case .include(_, let lines):
            try run(lines)
        case .expect(let pattern):
            guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to check yet") }
            try check(lastResponse.status, against: try substitute(pattern), line: line)
        case .help(let topic):
            for text in ShellHelp.text(for: topic) { say(text) }
        case .ifBlock(let condition, let then, let otherwise):
            try run(try holds(condition) ? then : otherwise)
        case .repeatBlock(let count, let body):
            let times = try bounded(count, "repeat count", 1...ScriptParser.maxRepeat)
            for index in 1...times {
                variables["i"] = String(index)
                try run(body)
            }
        case .fail(let message):
            throw ScriptFailure.failed(file: line.file, line: line.number, message: try substitute(message))
        }
    }

    private var followsResponseChain = true

    private func bounded(_ text: String, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
        let value = try substitute(text)
        guard let number = Int(value), range.contains(number) else {
            throw ScriptFailure.invalidArgument("\(what) \"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Sleeps in short slices so Ctrl-C ends the wait.
    private func pause(_ seconds: Double) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            Thread.sleep(forTimeInterval: min(0.05, end.timeIntervalSinceNow))
        }
    }

    private func holds(_ condition: Statement.Condition) throws -> Bool {
        guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to test yet") }
        switch condition {
        case .status(let text):
            return try StatusPattern(try substitute(text)).matches(lastResponse.status)
        case .response(let text):
            if isSensitive(lastResponse.data) {
                throw ScriptFailure.invalidArgument("the response was encrypted by the card; test it only with --reveal-secrets")
            }
            return try ResponsePattern(try substitute(text)).matches(lastResponse.data)
        }
    }

    // MARK: Connection and channels

    private func connect(_ reader: String?) throws {
        disconnect()
        let context = try pcscContext()
        let name = try context.resolveReader(reader)
        let card = try context.connect(reader: name)
        let wire = ISO7816Channel(link: card)
        wire.followsResponseChain = followsResponseChain
        cardATR = try card.atr()
        wire.onExchange = { [weak self] exchange in self?.record(exchange) }
        self.card = card
        self.wire = wire
        resetChannels()
        say("connected to \(TerminalText.escape(name)), \(card.protocolName), ATR \(cardATR.hexString)")
    }

    private func record(_ exchange: WireExchange) {
        let line = ">> \(exchange.command.hexString)  << \(exchange.response.hexString)"
        current?.wire.append(line)
        current?.exchanges.append(Exchange(
            time: timeFormat.string(from: Date()), reader: card?.reader ?? "", atr: cardATR.hexString,
            protocolName: card?.protocolName ?? "", channel: exchange.command.first.map { LogicalChannel.decode(cla: $0).number } ?? 0,
            command: exchange.command.hexString, response: exchange.response.hexString))
        if options.trace { write("   wire \(line)") }
    }

    /// After a connect or reset only the basic channel is open, at the MF.
    private func resetChannels() {
        for session in channels.values { session.endSecureChannel() }
        channels = wire.map { [0: ChannelSession(number: 0, link: $0)] } ?? [:]
        channelNumber = 0
    }

    private func disconnect() {
        card?.disconnect(resetCard: channels.values.contains { $0.secure != nil })
        for session in channels.values { session.endSecureChannel() }
        channels = [:]
        card = nil
        wire = nil
    }

    private func channel(_ action: Statement.ChannelAction) throws {
        let origin = try session()
        guard let wire else { throw ScriptFailure.notConnected }
        switch action {
        case .open:
            let response = try origin.transport.transmit(ISOCommand.openChannel())
            report(ISOCommand.openChannel(), response)
            guard response.status == .success, let number = response.data.first, let channel = try? LogicalChannel(Int(number)) else {
                throw CardStatusError("MANAGE CHANNEL open", response.status)
            }
            let opened = ChannelSession(number: channel.number, link: LogicalChannelLink(channel: channel, inner: wire))
            // ISO/IEC 7816-4 section 7.1.2: from the basic channel the new one starts at the MF, otherwise at the origin's DF.
            if origin.number != 0 { opened.location = origin.location; opened.pkcs15 = origin.pkcs15 }
            channels[channel.number] = opened
            channelNumber = channel.number
            say("channel \(channel.number) open and current")
        case .close(let text):
            let number = try text.map { try bounded($0, "channel", 1...19) } ?? channelNumber
            guard number != 0 else { throw ScriptFailure.invalidArgument("the basic channel (0) cannot be closed") }
            guard let closing = channels[number] else { throw ScriptFailure.invalidArgument("channel \(number) is not open") }
            let command = ISOCommand.closeChannel(try LogicalChannel(number))
            let response = try (channels[0]?.transport ?? wire).transmit(command)
            report(command, response)
            guard response.status == .success else { throw CardStatusError("MANAGE CHANNEL close \(number)", response.status) }
            closing.endSecureChannel()
            channels[number] = nil
            if channelNumber == number { channelNumber = 0 }
            say("channel \(number) closed; current channel \(channelNumber)")
        case .use(let text):
            let number = try bounded(text, "channel", 0...19)
            guard channels[number] != nil else {
                throw ScriptFailure.invalidArgument("channel \(number) is not open (open: \(channels.keys.sorted().map(String.init).joined(separator: ", ")))")
            }
            channelNumber = number
            say("channel \(number)")
        }
    }

    // MARK: Exchanges

    private func isSensitive(_ data: [UInt8]) -> Bool {
        guard let secure = channels[channelNumber]?.secure else { return false }
        return secure.level.hasResponseEncryption && !data.isEmpty && !options.revealSecrets
    }

    @discardableResult
    private func exchange(_ command: CommandAPDU, expect: String?, dump: Bool = false) throws -> ResponseAPDU {
        let response = try session().transport.transmit(command)
        remember(response)
        current?.command = command.description
        report(command, response, dump: dump)
        if let expect, let line = current {
            try check(response.status, against: try substitute(expect),
                      line: ScriptLine(file: line.file, number: line.line, text: line.text, statement: .expect(expect)))
        }
        return response
    }

    private func remember(_ response: ResponseAPDU) {
        lastResponse = response
        variables["sw"] = response.status.hex
        variables["sw1"] = Hex.encode([response.status.sw1])
        variables["sw2"] = Hex.encode([response.status.sw2])
        // A redacted response stays redacted in $response too, or echo would show it.
        let shown = isSensitive(response.data) ? "<redacted \(response.data.count) bytes>" : response.data.hexString
        variables["response"] = shown
        current?.response = shown
        current?.status = response.status.hex
    }

    /// The command, the answer and, as scriptor does, what its status word means.
    private func report(_ command: CommandAPDU, _ response: ResponseAPDU, dump: Bool = false) {
        say("> \(command)")
        let sensitive = isSensitive(response.data)
        let status = "\(Hex.encode([response.status.sw1, response.status.sw2], separator: " ")): \(response.status.meaning)"
        if sensitive {
            say("< <redacted \(response.data.count) bytes> \(status)")
        } else if dump && response.data.count > 16 {
            for text in HexDump.lines(response.data) { say("  \(text)") }
            say("< \(status)")
        } else {
            say("< \(response.data.isEmpty ? "" : response.data.hexString + " ")\(status)")
        }
    }

    private func check(_ status: StatusWord, against text: String, line: ScriptLine) throws {
        let pattern = try StatusPattern(text)
        current?.expected = pattern.description
        guard pattern.matches(status) else {
            throw ScriptFailure.expectationFailed(file: line.file, line: line.number, text: line.text,
                                                  expected: pattern.description, actual: status)
        }
    }

    /// READ BINARY from offset 0 until the card says the EF ends.
    private func readWholeEF() throws -> (data: [UInt8], reads: Int) {
        let target = try session().transport
        let chunk = min(256, channels[channelNumber]?.secure?.maxResponseData ?? 256)
        var content: [UInt8] = []
        var reads = 0
        while content.count <= 0x7FFF {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            let response = try target.transmit(ISOCommand.readBinary(offset: content.count, length: chunk))
            reads += 1
            if response.status == StatusWord(0x6B00) && !content.isEmpty { break }
            guard response.status == .success || response.status == StatusWord(0x6282) else {
                throw CardStatusError("READ BINARY at offset \(content.count)", response.status)
            }
            content += response.data
            if response.data.count < chunk || response.status != .success { break }
        }
        remember(ResponseAPDU(data: content, status: .success))
        return (content, reads)
    }

    /// A whole EF, as a hex dump with ASCII, or its size when the card encrypted it.
    private func show(_ read: (data: [UInt8], reads: Int), label: String) throws {
        if isSensitive(read.data) {
            say("< <redacted \(read.data.count) bytes> (\(read.data.count) bytes in \(read.reads) \(label); --reveal-secrets shows them)")
            return
        }
        for text in HexDump.lines(read.data) { say("  \(text)") }
        say("< \(read.data.count) bytes in \(read.reads) \(label)")
    }

    // MARK: Navigation

    private func select(kind: Statement.SelectKind, bytes: [UInt8], expect: String?) throws {
        let session = try session()
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
        if kind == .aid && session.secure != nil {
            say("(selecting an application ends the secure channel session)")
            session.endSecureChannel()
        }
        let response = try exchange(command, expect: expect)
        lastKind = .fcp
        guard response.status == .success || response.status.isWarning else { return }
        let parameters = try? FileControlParameters(bytes: response.data)
        switch kind {
        case .aid:
            session.enterApplication(bytes, name: WellKnownName.applicationName(bytes))
        case .fid, .path:
            session.location.moved(to: Hex.encode(bytes), parameters: parameters, fromMF: kind == .path && bytes.starts(with: [0x3F, 0x00]))
        }
    }

    /// `cd` / `select NAME`: a well-known name, a DODF label, a file id, an AID, `..` or `/`.
    private func navigate(to name: String) throws {
        let session = try session()
        let target = try resolve(name, in: session)
        if target.endsSession && session.secure != nil {
            say("(selecting an application ends the secure channel session)")
            session.endSecureChannel()
        }
        let response = try session.transport.transmit(target.command)
        remember(response)
        current?.command = target.command.description
        report(target.command, response)
        lastKind = .fcp
        guard response.status == .success || response.status.isWarning else {
            throw CardStatusError("SELECT \(name)", response.status)
        }
        let parameters = try? FileControlParameters(bytes: response.data)
        if let parameters, !isSensitive(response.data) { say("  \(parameters.summary)") }
        target.apply(session, parameters)
        // Entering PKCS#15 reads its directory files, so labels complete at once.
        if target.endsSession && session.location.application == PKCS15Application.standardAID {
            _ = try? pkcs15Directory(session)
        }
    }

    private func resolve(_ name: String, in session: ChannelSession) throws -> NavigationTarget {
        if name == "/" || name.uppercased() == "MF" || name.uppercased() == "3F00" {
            return NavigationTarget(command: ISOCommand.selectFile(0x3F00, returnFCP: true)) { session, _ in
                session.location = Location()
            }
        }
        if name == ".." {
            return NavigationTarget(command: CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x03, p2: 0x04, expectedLength: 256)) { session, _ in
                session.location.up()
            }
        }
        if let known = WellKnownName.find(name) {
            switch known.target {
            case .application(let aid):
                return NavigationTarget(command: ISOCommand.selectApplication(aid), endsSession: true) { session, _ in
                    session.enterApplication(aid, name: known.name)
                }
            case .fromMF(let path):
                return NavigationTarget(command: ISOCommand.selectPath(path, fromMF: true, returnFCP: true)) { session, parameters in
                    session.location = Location()
                    session.location.select(ef: known.name, kind: known.kind, parameters: parameters)
                }
            case .inApplication(let fid):
                guard session.location.application == PKCS15Application.standardAID || session.location.dfNames.last == "PKCS15" else {
                    throw ScriptFailure.invalidArgument("\(known.name) is inside the PKCS#15 application: cd PKCS15 first")
                }
                return NavigationTarget(command: ISOCommand.selectFile(fid, returnFCP: true)) { session, parameters in
                    session.location.select(ef: known.name, kind: known.kind, parameters: parameters)
                }
            case .dataObjectDirectory:
                let directory = try pkcs15Directory(session)
                guard let path = directory.odf.dataObjectDirectories.first else {
                    throw ScriptFailure.invalidArgument("the ODF names no DODF")
                }
                return NavigationTarget(command: Self.selectCommand(path.path)) { session, parameters in
                    session.location.select(ef: "DODF", kind: .dodf, parameters: parameters)
                }
            }
        }
        if session.location.application == PKCS15Application.standardAID || session.pkcs15 != nil {
            if let directory = try? pkcs15Directory(session),
               let entry = directory.objects.first(where: { $0.label?.lowercased() == name.lowercased() }) {
                guard case .path(let path)? = entry.value else {
                    throw ScriptFailure.invalidArgument("\"\(name)\" has its value inside the DODF; decode dodf shows it")
                }
                let kind: CardDecoder.Kind? = PKCS15Navigator(application: directory.application).classify(entry) == .dm ? .bootstrap : nil
                return NavigationTarget(command: Self.selectCommand(path.path)) { session, parameters in
                    session.location.select(ef: entry.label ?? name, kind: kind, parameters: parameters)
                }
            }
        }
        if let bytes = try? Hex.decode(name) {
            if bytes.count == 2 {
                let fid = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
                return NavigationTarget(command: ISOCommand.selectFile(fid, returnFCP: true)) { session, parameters in
                    session.location.moved(to: Hex.encode(bytes), parameters: parameters, fromMF: false)
                }
            }
            if (5...16).contains(bytes.count) {
                return NavigationTarget(command: ISOCommand.selectApplication(bytes), endsSession: true) { session, _ in
                    session.enterApplication(bytes, name: WellKnownName.applicationName(bytes))
                }
            }
        }
        let known = navigationNames.filter { $0 != ".." && $0 != "/" }
        let close = known.min { ScriptParser.editDistance(name.lowercased(), $0.lowercased()) < ScriptParser.editDistance(name.lowercased(), $1.lowercased()) }
        let hint = close.map { candidate -> String in
            guard ScriptParser.editDistance(name.lowercased(), candidate.lowercased()) <= 3 else { return "" }
            return "; did you mean \(candidate.contains(" ") ? "\"\(candidate)\"" : candidate)?"
        } ?? ""
        throw ScriptFailure.invalidArgument("no file named \"\(TerminalText.escape(name))\" here\(hint) (ls lists what the card holds; a file id is 4 hex digits, an AID 10 to 32)")
    }

    static func selectCommand(_ path: [UInt8]) -> CommandAPDU {
        if path.starts(with: [0x3F, 0x00]) {
            return ISOCommand.selectPath(Array(path.dropFirst(2)), fromMF: true, returnFCP: true)
        }
        if path.count == 2 { return ISOCommand.selectFile(UInt16(path[0]) << 8 | UInt16(path[1]), returnFCP: true) }
        return ISOCommand.selectPath(path, fromMF: false, returnFCP: true)
    }

    /// ODF, TokenInfo and DODFs of the PKCS#15 application this channel is in, read once.
    private func pkcs15Directory(_ session: ChannelSession) throws -> PKCS15Directory {
        if let directory = session.pkcs15 { return directory }
        guard let aid = session.location.application else {
            throw ScriptFailure.invalidArgument("not inside an application: cd PKCS15 first")
        }
        let chunk = session.secure?.maxResponseData ?? 256
        let reader = TransparentFileReader(channel: session.transport, applicationPath: nil, chunkLength: min(256, chunk))
        let odf = try ObjectDirectory(bytes: reader.read(PKCS15Path(path: [0x50, 0x31])))
        let tokenInfo = try? TokenInfo(bytes: reader.read(PKCS15Path(path: [0x50, 0x32])))
        var objects: [DataObjectEntry] = []
        for path in odf.dataObjectDirectories {
            objects += try DataObjectEntry.parseDirectory(reader.read(path), file: "EF(DODF) \(path)")
        }
        let application = PKCS15Application(applicationID: aid, path: nil, label: nil, foundBy: "aid")
        let directory = PKCS15Directory(application: application, odf: odf, tokenInfo: tokenInfo, objects: objects)
        session.pkcs15 = directory
        // Reading moved the card's current EF.
        session.location.ef = nil
        return directory
    }

    /// `ls`: what the current DF holds, as far as the card tells.
    private func list() throws {
        let session = try session()
        if session.location.dfNames.isEmpty {
            try listMasterFile(session)
        } else if session.location.application != nil {
            try listApplication(session)
        } else {
            say("the card gives no directory of DF \(session.location.display); select files by id (select fid 6F07)")
        }
    }

    private func probe(_ command: CommandAPDU, over channel: CardChannel) throws -> FileControlParameters?? {
        let response = try channel.transmit(command)
        guard response.status == .success || response.status.isWarning else { return .none }
        return .some(try? FileControlParameters(bytes: response.data))
    }

    private func listMasterFile(_ session: ChannelSession) throws {
        let channel = session.transport
        var applications: [DirectoryEntry] = []
        for known in WellKnownName.all {
            guard case .fromMF(let path) = known.target else { continue }
            guard let parameters = try probe(ISOCommand.selectPath(path, fromMF: true, returnFCP: true), over: channel) else { continue }
            say("  \(known.name.padded(10)) \(Hex.encode(path))  \(parameters?.summary ?? "(no FCP)")")
            if known.name == "EF.DIR" {
                for number in 1...254 {
                    if Interrupt.take() { throw ScriptFailure.interrupted }
                    let record = try channel.transmit(ISOCommand.readRecord(number))
                    guard record.status == .success else { break }
                    if let entry = try? DirectoryEntry.parse(record: record.data, number: number) { applications.append(entry) }
                }
            }
        }
        session.location.ef = nil
        for application in applications {
            let name = WellKnownName.applicationName(application.applicationID) ?? Hex.encode(application.applicationID)
            say("  \(name.padded(10)) \(Hex.encode(application.applicationID))  application\(application.label.map { " \"\(TerminalText.escape($0))\"" } ?? "") (EF.DIR)")
        }
    }

    private func listApplication(_ session: ChannelSession) throws {
        session.pkcs15 = nil
        let directory: PKCS15Directory
        do {
            directory = try pkcs15Directory(session)
        } catch {
            say("no PKCS#15 structure here (\(error)); select files by id")
            return
        }
        let channel = session.transport
        func line(_ name: String, _ path: [UInt8], _ detail: String) throws {
            let parameters = try probe(Self.selectCommand(path), over: channel)
            let shown = name.contains(" ") ? "\"\(TerminalText.escape(name))\"" : TerminalText.escape(name)
            say("  \(shown.padded(10)) \(Hex.encode(path))  \(parameters??.summary ?? "not selectable")\(detail)")
        }
        try line("ODF", [0x50, 0x31], "")
        if let info = directory.tokenInfo {
            try line("TokenInfo", [0x50, 0x32], "  serial \(info.serialHex)\(info.label.map { " \"\(TerminalText.escape($0))\"" } ?? "")")
        }
        for entry in directory.odf.entries {
            try line(entry.kind == .dataObjects ? "DODF" : entry.kind.name, entry.path.path, "")
        }
        let navigator = PKCS15Navigator(application: directory.application)
        for entry in directory.objects {
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            let oid = entry.oid.map { " oid \($0)" } ?? ""
            if case .path(let path)? = entry.value {
                try line(entry.label ?? "(no label)", path.path, "\(oid)\(role)")
            } else {
                say("  \"\(TerminalText.escape(entry.label ?? ""))\"  direct value in the DODF\(oid)\(role)")
            }
        }
        session.location.ef = nil
    }

    private func cat() throws {
        let session = try session()
        if case .linearFixed(_, let count)? = session.location.structure {
            try catRecords(count)
        } else if case .cyclic(_, let count)? = session.location.structure {
            try catRecords(count)
        } else {
            try show(try readWholeEF(), label: "READ BINARY")
        }
        lastKind = session.location.kind
        if session.location.kind == .iccid, let data = lastResponse?.data, !isSensitive(data) {
            for text in (try? ICCID.lines(data)) ?? ["(not BCD digits)"] { say(text) }
        }
    }

    private func catRecords(_ count: Int) throws {
        let channel = try session().transport
        var all: [UInt8] = []
        for number in 1...max(1, min(count, 254)) {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            let response = try channel.transmit(ISOCommand.readRecord(number))
            guard response.status == .success else { break }
            say("record \(number):")
            if isSensitive(response.data) {
                say("  <redacted \(response.data.count) bytes>")
            } else {
                for text in HexDump.lines(response.data) { say("  \(text)") }
            }
            all += response.data
        }
        remember(ResponseAPDU(data: all, status: .success))
    }

    private func decode(kind: CardDecoder.Kind, hex: String?) throws {
        let bytes: [UInt8]
        var hint: CardDecoder.Kind?
        if let hex {
            bytes = try Hex.decode(hex)
        } else {
            guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to decode yet; give hex: decode fcp 62..") }
            bytes = lastResponse.data
            hint = lastKind
        }
        guard !bytes.isEmpty || kind == .atr else { throw ScriptFailure.invalidArgument("the response has no data to decode") }
        if hex == nil && kind != .bootstrap && hint != .bootstrap && isSensitive(bytes) {
            throw ScriptFailure.invalidArgument("the card encrypted this response; --reveal-secrets shows it (decode bootstrap redacts its secrets)")
        }
        for text in try CardDecoder.decode(bytes, as: kind, hint: hint, revealSecrets: options.revealSecrets) { say(text) }
    }

    // MARK: Security domain

    private func keyInformation() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x00, p2: 0xE0, expectedLength: 256)
        let response = try exchange(command, expect: nil)
        lastKind = .kit
        guard response.status == .success else {
            throw CardStatusError("GET DATA 00E0 (Key Information Template)", response.status)
        }
        let keys = try KeyInformation.parseTemplate(response.data)
        if keys.isEmpty { say("the security domain lists no keys") }
        for key in keys { say("  \(key.summary)") }
        let versions = Set(keys.map(\.version)).sorted().map { Hex.encode([$0]) }
        if !versions.isEmpty { say("key versions: \(versions.joined(separator: ", ")) (scp03 open needs a key file with one of them)") }
    }

    private func productionLifeCycle() throws {
        let command = CommandAPDU(cla: 0x80, ins: 0xCA, p1: 0x9F, p2: 0x7F, expectedLength: 256)
        let response = try exchange(command, expect: nil)
        lastKind = .cplc
        guard response.status == .success else { throw CardStatusError("GET DATA 9F7F (CPLC)", response.status) }
        for text in try CPLC(bytes: response.data).lines { say("  \(text)") }
    }

    /// GET STATUS for the ISD, then applications and security domains, then
    /// load files, in the tagged format; over SCP03 when the card asks for it.
    private func registryStatus() throws {
        let session = try session()
        for p1: UInt8 in [0x80, 0x40, 0x20] {
            var p2: UInt8 = 0x02
            var collected: [UInt8] = []
            while true {
                let command = CommandAPDU(cla: 0x80, ins: 0xF2, p1: p1, p2: p2, data: [0x4F, 0x00], expectedLength: 256)
                var response = try session.transport.transmit(command)
                if response.status == StatusWord(0x6982) && session.secure == nil {
                    report(command, response)
                    // C-MAC only: the registry is not secret, and every SCP03 card supports level 01.
                    say("(GET STATUS needs a secure channel; opening SCP03 at level 01 with the configured keys)")
                    try openSecureChannel(level: "01", keys: nil, testKeys: false)
                    response = try session.transport.transmit(command)
                }
                report(command, response)
                remember(response)
                lastKind = .status
                if response.status == StatusWord(0x6A88) || response.status == StatusWord(0x6A86) && p1 != 0x80 { break }
                guard response.status == .success || response.status == StatusWord(0x6310) else {
                    throw CardStatusError("GET STATUS \(Hex.encode([p1]))", response.status)
                }
                guard !isSensitive(response.data) else {
                    say("  (the card encrypted the registry; --reveal-secrets shows it)")
                    break
                }
                collected += response.data
                if response.status != StatusWord(0x6310) { break }
                p2 |= 0x01
            }
            guard !collected.isEmpty else { continue }
            for text in try RegistryEntry.parse(collected, p1: p1).flatMap(\.lines) { say(text) }
        }
    }

    private func openSecureChannel(level: String, keys: String?, testKeys: Bool) throws {
        let session = try session()
        guard session.secure == nil else {
            throw ScriptFailure.invalidArgument("a secure channel is already open on channel \(channelNumber); scp03 close first")
        }
        let warnings = Mutex<[String]>([])
        let loaded: ResolvedKeys
        do {
            loaded = try KeySourceResolver(warn: { message in warnings.withLock { $0.append(message) } })
                .resolve(KeySources.KeyOptions(keys: testKeys ? nil : keys ?? options.keysFile, globalPlatformTestKeys: testKeys,
                                               diversification: options.diversifyKeys ? .kdf3 : nil,
                                               keyTableKEK: options.keyTableKEK))
        } catch KeyError.missing {
            // The resolver's own hint names dmboot's flags; say what works here.
            throw ScriptFailure.noKeys
        }
        warnings.withLock { $0 }.forEach(say)
        let host = SCP03Host(keySource: loaded.source, level: try SecurityLevel(text: level), mode: loaded.mode,
                             applicationID: session.location.application,
                             compatibility: loaded.compatibility)
        let opened = try host.open(over: session.link)
        opened.onExchange = { [weak self] plain, wrapped, _, _ in
            guard let self, self.options.trace else { return }
            self.write("   plain \(plain)  wrapped \(wrapped)")
        }
        session.secure = opened
        let answer = opened.handshake.initializeUpdate
        say("SCP03 open on channel \(channelNumber): level \(opened.level), key version \(Hex.encode([answer.keyVersion])), i \(Hex.encode([answer.options.rawValue]))\(opened.handshake.pseudoRandomChallengeVerified ? ", pseudo-random challenge verified" : "")")
        opened.handshake.warnings.forEach { say("warning: \($0)") }
    }

    private func listPKCS15() throws {
        let session = try session()
        if session.secure != nil {
            say("(listing selects the PKCS#15 application in clear, which ends the secure channel session)")
            session.endSecureChannel()
        }
        guard let channel = session.link as? ISO7816Channel else {
            throw ScriptFailure.invalidArgument("pkcs15 runs on the basic channel; use cd PKCS15 and ls on channel \(channelNumber)")
        }
        var reader = BootstrapReader(keys: nil)
        reader.readsObjects = false
        let contents = try reader.read(over: channel, atr: cardATR).contents
        session.enterApplication(contents.application.applicationID, name: "PKCS15")
        say("PKCS#15 \(contents.application.applicationID.hexString), serial \(contents.tokenInfo.serialHex)\(contents.tokenInfo.label.map { " \"\(TerminalText.escape($0))\"" } ?? "")")
        let navigator = PKCS15Navigator(application: contents.application)
        for entry in contents.dataObjects {
            var path = "no value"
            if case .path(let value)? = entry.value { path = "\(value)" }
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            say("  \(entry.kind.rawValue)  \(TerminalText.escape(entry.label ?? "(no label)"))\(entry.oid.map { "  \($0)" } ?? "")  \(path)\(role)")
        }
    }

    /// Replaces $name and ${name} with variable values ($sw, $sw1, $sw2, $response, $i, and set ones).
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
            guard result.utf8.count <= Self.maxVariableLength else {
                throw ScriptFailure.invalidArgument("expanding variables gives more than \(Self.maxVariableLength) characters")
            }
            index = nameEnd
            if braced {
                guard index < text.endIndex, text[index] == "}" else { throw ScriptFailure.unknownVariable(name) }
                index = text.index(after: index)
            }
        }
        return result
    }
}

extension String {
    /// Left-aligned in `width` columns; never cut (labels are read whole).
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}

/// Why a script stopped.
public enum ScriptFailure: Error, CustomStringConvertible {
    case expectationFailed(file: String, line: Int, text: String, expected: String, actual: StatusWord)
    case lineFailed(file: String, line: Int, text: String, error: Error)
    /// The script's own `fail "message"`.
    case failed(file: String, line: Int, message: String)
    case notConnected
    case invalidArgument(String)
    case unknownVariable(String)
    case unreadableScript(String, reason: String)
    /// Ctrl-C.
    case interrupted
    /// `scp03 open` (or `status`) with no key file anywhere.
    case noKeys

    public var description: String {
        switch self {
        case .expectationFailed(let file, let line, let text, let expected, let actual):
            return "\(file):\(line): expected status \(expected), the card answered \(actual)\n    \(text)"
        case .lineFailed(let file, let line, let text, let error):
            return "\(file):\(line): \(error)\n    \(text)"
        case .failed(let file, let line, let message):
            return "\(file):\(line): \(TerminalText.escape(message))"
        case .notConnected: return "no card is connected; connect first"
        case .invalidArgument(let reason): return reason
        case .unknownVariable(let name): return "no variable \"\(name)\" (set it first, or use $sw, $sw1, $sw2, $response)"
        case .unreadableScript(let path, let reason): return "cannot read the script \(path): \(reason)"
        case .interrupted: return "interrupted (Ctrl-C)"
        case .noKeys:
            return "no SCP03 keys: give scp03 open keys FILE, start apdu-shell with --keys FILE, set DMBOOT_KEYS, or use scp03 open gp-test-keys on a development card"
        }
    }

    /// The error below the line, for exit codes.
    public var underlying: Error? {
        if case .lineFailed(_, _, _, let error) = self { return error }
        return nil
    }
}
