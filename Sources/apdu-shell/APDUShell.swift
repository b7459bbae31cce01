import APDU
import APDUScript
import ArgumentParser
import CardCrypto
import CardTransport
import CommandLineSupport
import ExitContract
import Foundation
import JSONOutput
import SecureChannel
import TerminalText

@main
struct APDUShell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apdu-shell",
        abstract: "A card debugger: navigate by name, decode answers, inspect the security domain, script APDUs and SCP03 sessions.",
        discussion: """
        Interactive on a terminal (line editing, history, tab completion, 'help'); a script with -f or on standard \
        input otherwise, stopping at the first failed expectation or 'fail'. The language is in apdu-script(5).
        Exit status: dmboot's contract (`dmboot exit-codes`, apdu-shell(1)): 0 success, 2 a malformed script or \
        command line, 3-11 a PC/SC, reader or card failure, 13 an unreadable script, 14 a failed expectation or a \
        'fail' line, 17 interrupted by Ctrl-C, 20-24 a secure-channel or key failure.
        """,
        version: "0.1.0")

    /// The shared entry runs the command line and ends the process with the
    /// documented status (apdu-shell(1), EXIT STATUS), as dmboot does.
    /// A shell with a secure channel holds session keys: no core dump (SecretMemory).
    static func main() {
        SecretMemory.protectProcess()
        ToolEntry(name: "apdu-shell", classify: { status(of: $0) }, describe: { describe($0) }).run(APDUShell.self)
    }

    @Option(name: .shortAndLong, help: ArgumentHelp("Reader: exact name, index or a unique part of the name.", valueName: "reader"))
    var reader: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Run this script and exit.", valueName: "script"))
    var file: String?

    @Option(help: ArgumentHelp("Keys for 'scp03 open' and 'status': a key file, a PKCS#11 URI or a key table (dmboot-keys(5)); else $DMBOOT_KEYS.",
                               valueName: "source"))
    var keys: String?

    @Option(help: ArgumentHelp("Diversify the keys for each card (kdf3: GlobalPlatformPro's KDF3), as dmboot does.",
                               valueName: "method"))
    var diversify: String?

    @Option(help: ArgumentHelp("PKCS#11 URI of the key that decrypts a key table's key columns.", valueName: "uri"))
    var keyTableKek: String?

    @Flag(help: "Write a JSON transcript of the script on stdout (human output goes to stderr).")
    var json = false

    @Flag(help: "Show data the card sent encrypted (R-ENCRYPTION) and a bootstrap's secrets; redacted otherwise.")
    var revealSecrets = false

    @Flag(help: "Start with trace on: wire exchanges, plain and wrapped forms.")
    var trace = false

    @Flag(help: "Let a script change the card (update, write-bootstrap, change-pin, unblock-pin, a last PIN try) and replace files (save) without asking.")
    var yes = false

    @Option(help: ArgumentHelp("History file of the interactive shell.", valueName: "file"))
    var history: String?

    func validate() throws {
        if let diversify, diversify != "kdf3" { throw ValidationError("--diversify: the one method is kdf3") }
    }

    func run() throws {
        Self.catchInterrupts()
        var options = ScriptInterpreter.Options()
        options.reader = reader
        options.keysFile = keys
        options.diversifyKeys = diversify != nil
        options.keyTableKEK = keyTableKek
        options.revealSecrets = revealSecrets
        options.trace = trace
        options.assumeYes = yes
        // Everything a card, a script or a reader name put in a line is escaped
        // before it reaches the terminal (issue 16 item 5).
        let output: (String) -> Void = json
            ? { FileHandle.standardError.write(Data((TerminalText.escapeLines($0) + "\n").utf8)) }
            : { print(TerminalText.escapeLines($0)) }
        if file == nil && isatty(STDIN_FILENO) == 1 && !json {
            options.confirm = TerminalPrompt.confirm
            options.readSecret = TerminalPrompt.readSecret
            interactive(ScriptInterpreter(options: options, write: output))
            return
        }
        let interpreter = ScriptInterpreter(options: options, write: output)
        let name = file ?? "<stdin>"
        var failure: Error?
        do {
            let lines = try file.map { try ScriptParser().parseFile($0) }
                ?? ScriptParser().parseScript([UInt8](FileHandle.standardInput.readDataToEndOfFile()), file: name)
            try interpreter.run(lines)
        } catch {
            failure = error
        }
        if json {
            try Output.json(Transcript(interpreter.transcript, script: name, failure: failure.map {
                ("apdu-shell: \(Self.describe($0))", Self.status(of: $0))
            }))
        }
        if let failure { throw ReportedFailure(error: failure) }
    }

    /// Ctrl-C raises a flag the line editor and the interpreter look at; the
    /// handler does nothing else, as a signal handler must. No SA_RESTART:
    /// a read waiting for a key returns, so the line can be dropped.
    static func catchInterrupts() {
        // The flag is created here, not lazily inside the handler.
        _ = Interrupt.isRaised
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Interrupt.raise() }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    func interactive(_ interpreter: ScriptInterpreter) {
        let names = CompletionNames()
        names.set(interpreter.navigationNames)
        let editor = LineEditor(historyPath: history ?? Self.defaultHistoryPath(),
                                completer: ShellCompleter(readers: { (try? PCSCContext().readerNames()) ?? [] },
                                                          names: { names.values }))
        interpreter.history = { editor.entries }
        print("apdu-shell: 'help' lists the commands, Ctrl-C cancels, ^D leaves")
        var pending: [String] = []
        var depth = 0
        while let line = editor.readLine(prompt: pending.isEmpty
                                         ? (interpreter.state.isEmpty ? "apdu> " : "apdu[\(TerminalText.escape(interpreter.state))]> ")
                                         : "...> ") {
            _ = Interrupt.take()
            let text = line.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (text == "quit" || text == "exit") { break }
            if line.isEmpty && !pending.isEmpty && text.isEmpty { continue }
            let first = text.split(separator: " ").first.map { $0.lowercased() }
            if first == "if" || first == "repeat" { depth += 1 }
            if first == "end" { depth -= 1 }
            pending.append(text)
            guard depth <= 0 else { continue }
            let block = pending.joined(separator: "\n")
            pending = []
            depth = 0
            do {
                for parsed in try ScriptParser().parse(block, file: "<interactive>") {
                    try interpreter.execute(parsed)
                }
            } catch let error as ScriptSyntaxError {
                for problem in error.problems { print("error: \(TerminalText.escape(problem.reason))") }
            } catch let error as ScriptFailure {
                print("error: \(TerminalText.escapeLines(error.underlying.map { "\($0)" } ?? "\(error)"))")
            } catch {
                print("error: \(TerminalText.escapeLines("\(error)"))")
            }
            names.set(interpreter.navigationNames)
        }
    }

    static func defaultHistoryPath() -> String {
        let environment = ProcessInfo.processInfo.environment
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/state")
        let folder = (state as NSString).appendingPathComponent("dmboot")
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        return (folder as NSString).appendingPathComponent("apdu-shell.history")
    }

    /// What a failure says, without the tool's name.
    static func describe(_ error: Error) -> String {
        guard case ScriptFailure.expectationFailed(let file, let line, let text, let expected, let actual) = error else {
            return "\(error)"
        }
        return "\(file) line \(line): expected \(expected), got \(actual.hex) (\(actual.meaning))\n    \(text)"
    }

    /// The exit status of whatever ended a script: its syntax, an
    /// expectation, or the card, reader or keys under it.
    static func status(of error: Error) -> ExitStatus {
        switch error {
        case is ScriptSyntaxError, is ValidationError: return .usage
        case let failure as ScriptFailure: return status(of: failure)
        default: return ExitStatus.of(error, otherwise: .transportError)
        }
    }

    static func status(of failure: ScriptFailure) -> ExitStatus {
        switch failure {
        case .expectationFailed, .failed: return .expectationFailed
        case .unreadableScript: return .fileError
        case .invalidArgument, .unknownVariable, .notConnected: return .usage
        case .interrupted: return .interrupted
        case .noKeys: return .keyMaterial
        case .notConfirmed: return .changeNotConfirmed
        case .pinRefused: return .pinRefused
        case .pinBlocked: return .pinBlocked
        case .noSecret: return .secretMissing
        case .documentTooLarge: return .documentTooLarge
        case .readBackDiffers: return .cardError
        case .lineFailed(_, _, _, let error):
            switch error {
            case let failure as ScriptFailure: return status(of: failure)
            case is ScriptSyntaxError, is APDUError, is Hex.ParseError, is StatusPattern.PatternError,
                 is ResponsePattern.PatternError:
                return .usage
            default: return ExitStatus.of(error, otherwise: .transportError)
            }
        }
    }

}

/// The --json transcript (apdu-shell(1), --json): one object with every
/// line run and how it ended; each exchange carries its time, reader, ATR,
/// protocol and channel.
struct Transcript: Encodable {
    struct Step: Encodable {
        let file: String
        let line: Int
        let text: String
        let ok: Bool
        @NullWhenAbsent var command: String?
        @NullWhenAbsent var response: String?
        @NullWhenAbsent var status: String?
        @NullWhenAbsent var expected: String?
        let wire: [String]
        let output: [String]
        let exchanges: [Exchange]

        init(_ entry: ScriptInterpreter.Entry) {
            file = entry.file
            line = entry.line
            text = entry.text
            ok = entry.ok
            command = entry.command
            response = entry.response
            status = entry.status
            expected = entry.expected
            wire = entry.wire
            output = entry.output
            exchanges = entry.exchanges.map(Exchange.init)
        }
    }

    struct Exchange: Encodable {
        let time: String
        let reader: String
        let atr: String
        let `protocol`: String
        let channel: Int
        let command: String
        let response: String

        init(_ exchange: ScriptInterpreter.Exchange) {
            time = exchange.time
            reader = exchange.reader
            atr = exchange.atr
            `protocol` = exchange.protocolName
            channel = exchange.channel
            command = exchange.command
            response = exchange.response
        }
    }

    let script: String
    let ok: Bool
    @NullWhenAbsent var failure: String?
    let exitCode: Int
    let `class`: String
    let steps: [Step]

    init(_ entries: [ScriptInterpreter.Entry], script: String, failure: (message: String, status: ExitStatus)?) {
        self.script = script
        ok = failure == nil
        self.failure = failure?.message
        exitCode = Int(failure?.status.rawValue ?? 0)
        `class` = (failure?.status ?? .success).failureClass
        steps = entries.map(Step.init)
    }
}
