import APDU
import CardCrypto
import Foundation

/// Runs script lines against a card. Every command is a library call a
/// test can make; the shell and script mode only feed it lines. The
/// interpreter only expands a line's arguments and hands it to the command
/// family that knows it; blocks (`if`, `repeat`, `include`) run here.
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
        /// Asks y/N before a change to the card or a file (interactive); nil in scripts.
        public var confirm: ((String) -> Bool)?
        /// `--yes`: a script's changes go ahead without asking.
        public var assumeYes = false
        /// Reads a PIN without echo (interactive); nil in scripts, where PINs come from env: or file:.
        public var readSecret: ((String) -> SecretBytes?)?

        public init() {}
    }

    /// The interactive shell's history, for `history`.
    public var history: () -> [String] = { [] }
    public var transcript: [Entry] { recorder.entries }
    public var variables: [String: String] { scriptVariables.values }

    private let recorder: TranscriptRecorder
    private let scriptVariables = ScriptVariables()
    private let connection: CardConnection
    private let exchanger: CardExchanger
    private let channels: ChannelCommands
    private let navigation: NavigationCommands
    private let listing: DirectoryListing
    private let files: FileCommands
    private let decoding: DecodeCommands
    private let secureChannel: SecureChannelCommands
    private let securityDomain: SecurityDomainCommands
    private let fileChanges: FileChangeCommands
    private let pins: PINCommands

    public init(options: Options = Options(), write: @escaping (String) -> Void = { print($0) }) {
        recorder = TranscriptRecorder(trace: options.trace, write: write)
        connection = CardConnection(defaultReader: options.reader, recorder: recorder)
        exchanger = CardExchanger(connection: connection, recorder: recorder, variables: scriptVariables,
                                  revealSecrets: options.revealSecrets)
        channels = ChannelCommands(connection: connection, exchanger: exchanger, variables: scriptVariables, recorder: recorder)
        navigation = NavigationCommands(connection: connection, exchanger: exchanger, recorder: recorder)
        listing = DirectoryListing(connection: connection, recorder: recorder)
        files = FileCommands(connection: connection, exchanger: exchanger, variables: scriptVariables, recorder: recorder)
        decoding = DecodeCommands(connection: connection, exchanger: exchanger, recorder: recorder,
                                  revealSecrets: options.revealSecrets)
        secureChannel = SecureChannelCommands(connection: connection, recorder: recorder, keysFile: options.keysFile,
                                              diversifyKeys: options.diversifyKeys, keyTableKEK: options.keyTableKEK)
        securityDomain = SecurityDomainCommands(connection: connection, exchanger: exchanger, recorder: recorder,
                                                secureChannel: secureChannel)
        let gate = ChangeGate(confirm: options.confirm, assumeYes: options.assumeYes)
        fileChanges = FileChangeCommands(connection: connection, exchanger: exchanger, variables: scriptVariables,
                                         recorder: recorder, files: files, navigation: navigation, gate: gate)
        pins = PINCommands(connection: connection, exchanger: exchanger, recorder: recorder, variables: scriptVariables,
                           gate: gate, prompt: options.readSecret)
    }

    /// What the prompt shows: reader, channel, current DF, secure channel level.
    public var state: String { connection.state }

    /// Names `cd`, `select` and `cat` understand here, for completion.
    public var navigationNames: [String] { navigation.names }

    /// Runs lines in order and stops at the first failure.
    public func run(_ lines: [ScriptLine]) throws {
        for line in lines { try execute(line) }
    }

    public func execute(_ line: ScriptLine) throws {
        if Interrupt.take() { throw ScriptFailure.interrupted }
        // The card is held only while a secure channel is open (scp03 open takes it).
        defer { connection.releaseCardUnlessSecure() }
        switch line.statement {
        case .ifBlock, .repeatBlock, .include:
            // A block is not a line of the transcript; the lines in it are.
            return try perform(line)
        default:
            break
        }
        do {
            try recorder.recording(line) { try perform(line) }
        } catch let failure as ScriptFailure {
            throw failure
        } catch {
            throw ScriptFailure.lineFailed(file: line.file, line: line.number, text: line.text, error: error)
        }
    }

    func substitute(_ text: String) throws -> String {
        try scriptVariables.substitute(text)
    }

    private func perform(_ line: ScriptLine) throws {
        switch line.statement {
        case .readers:
            try connection.listReaders()
        case .connect(let reader):
            try connection.connect(try reader.map(substitute))
        case .disconnect:
            connection.disconnect()
            recorder.say("disconnected")
        case .reset:
            try connection.reset()
        case .atr:
            try decoding.atr()
        case .send(let hex, let expect):
            try exchanger.exchange(CommandAPDU(bytes: Hex.decode(try substitute(hex))), expect: expect)
            exchanger.lastKind = nil
        case .select(let kind, let value, let expect):
            try navigation.select(kind: kind, bytes: try Hex.decode(try substitute(value)), expect: expect)
        case .selectName(let name):
            try navigation.navigate(to: try substitute(name))
        case .readBinary(let offset, let length, let expect):
            try files.readBinary(offset: offset, length: length, expect: expect)
        case .readRecord(let number, let expect):
            try files.readRecord(number: number, expect: expect)
        case .readAll:
            try files.readAll()
        case .cat(let name):
            if let name { try navigation.navigate(to: try substitute(name)) }
            try files.cat()
        case .list:
            try listing.list()
        case .pkcs15:
            try listing.listPKCS15()
        case .decode(let kind, let hex):
            try decoding.decode(kind: kind, hex: try hex.map(substitute))
        case .keys:
            try securityDomain.keyInformation()
        case .cplc:
            try securityDomain.productionLifeCycle()
        case .status:
            try securityDomain.registryStatus()
        case .channel(let action):
            try channels.perform(action)
        case .getResponse(let on):
            connection.followsResponseChain = on
            recorder.say("getresponse \(on ? "on: 61xx and 6Cxx are followed up" : "off: 61xx and 6Cxx are shown as the card sent them")")
        case .history:
            for (index, entry) in history().enumerated() {
                recorder.say("\(String(repeating: " ", count: max(0, 5 - String(index + 1).count)))\(index + 1)  \(entry)")
            }
        case .openSecureChannel(let level, let keys, let testKeys):
            try secureChannel.open(level: try substitute(level), keys: try keys.map(substitute), testKeys: testKeys)
        case .closeSecureChannel:
            try secureChannel.close()
        case .trace(let on):
            recorder.trace = on
            recorder.say("trace \(on ? "on" : "off")")
        case .set(let name, let value):
            scriptVariables[name] = try substitute(value)
        case .echo(let text):
            recorder.say(try substitute(text))
        case .sleep(let seconds):
            let text = try substitute(seconds)
            guard let value = Double(text), value.isFinite, (0...ScriptParser.maxSleepSeconds).contains(value) else {
                throw ScriptFailure.invalidArgument("sleep takes seconds from 0 to \(Int(ScriptParser.maxSleepSeconds)); not \"\(text)\"")
            }
            try pause(value)
        case .include(_, let lines):
            try run(lines)
        case .expect(let pattern):
            try exchanger.expect(pattern, line: line)
        case .help(let topic):
            for text in ShellHelp.text(for: topic) { recorder.say(text) }
        case .ifBlock(let condition, let then, let otherwise):
            try run(try exchanger.holds(condition) ? then : otherwise)
        case .repeatBlock(let count, let body):
            let times = try scriptVariables.bounded(count, "repeat count", 1...ScriptParser.maxRepeat)
            for index in 1...times {
                scriptVariables["i"] = String(index)
                try run(body)
            }
        case .fail(let message):
            throw ScriptFailure.failed(file: line.file, line: line.number, message: try substitute(message))
        case .update(let offset, let hex, let file):
            try fileChanges.update(offset: offset, hex: hex, file: file)
        case .save(let path, let name):
            try fileChanges.save(path: path, name: name)
        case .writeBootstrap(let label, let file):
            try fileChanges.writeBootstrap(label: label, file: file)
        case .pin(let action, let reference, let sources):
            try pins.perform(action, reference: reference, sources: sources)
        case .watch(let seconds):
            try WatchCommand(recorder: recorder, variables: scriptVariables).run(seconds: seconds)
        }
    }

    /// Sleeps in short slices so Ctrl-C ends the wait.
    private func pause(_ seconds: Double) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            Thread.sleep(forTimeInterval: min(0.05, end.timeIntervalSinceNow))
        }
    }
}
