import APDU
import APDUScript
import ArgumentParser
import CardTransport
import ExitContract
import Foundation
import SecureChannel

@main
struct APDUShell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apdu-shell",
        abstract: "An interactive and scriptable APDU shell: readers, SELECT/READ, raw APDUs, SCP03 sessions, expectations.",
        discussion: """
        Interactive on a terminal (line editing, history, tab completion, 'help'); a script with -f or on standard \
        input otherwise, stopping at the first failed expectation. The language is in apdu-script(5).
        Exit status: dmboot's contract (`dmboot exit-codes`, apdu-shell(1)): 0 success, 2 a malformed script or \
        command line, 3-11 a PC/SC, reader or card failure, 13 an unreadable script, 14 a failed expectation, 20-24 \
        a secure-channel or key failure.
        """,
        version: "0.1.0")

    @Option(name: .shortAndLong, help: ArgumentHelp("Reader: exact name, index or a unique part of the name.", valueName: "reader"))
    var reader: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Run this script and exit.", valueName: "script"))
    var file: String?

    @Option(help: ArgumentHelp("Key file for 'scp03 open' (dmboot-keys(5)); else $DMBOOT_KEYS.", valueName: "file"))
    var keys: String?

    @Flag(help: "Write a JSON transcript of the script on stdout (human output goes to stderr).")
    var json = false

    @Flag(help: "Show data the card sent encrypted (R-ENCRYPTION); redacted otherwise.")
    var revealSecrets = false

    @Flag(help: "Start with trace on: wire exchanges, plain and wrapped forms, status meanings.")
    var trace = false

    @Option(help: ArgumentHelp("History file of the interactive shell.", valueName: "file"))
    var history: String?

    func run() throws {
        var options = ScriptInterpreter.Options()
        options.reader = reader
        options.keysFile = keys
        options.revealSecrets = revealSecrets
        options.trace = trace
        let output: (String) -> Void = json
            ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            : { print($0) }
        let interpreter = ScriptInterpreter(options: options, write: output)
        if file == nil && isatty(STDIN_FILENO) == 1 && !json {
            interactive(interpreter)
            return
        }
        let name = file ?? "<stdin>"
        let text: String
        if let file {
            guard let read = try? String(contentsOfFile: file, encoding: .utf8) else {
                Self.fail("cannot read the script \(file)", status: .fileError)
            }
            text = read
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        var failure: (String, ExitStatus)?
        do {
            try interpreter.run(ScriptParser().parse(text, file: name))
        } catch let error as ScriptSyntaxError {
            failure = ("\(error)", .usage)
        } catch let error as ScriptFailure {
            failure = (Self.describe(error, script: name), Self.status(of: error))
        } catch {
            failure = ("\(error)", ExitStatus.of(error, otherwise: .transportError))
        }
        if json { Transcript.print(interpreter.transcript, script: name, failure: failure) }
        if let failure { Self.fail(failure.0, status: failure.1) }
    }

    func interactive(_ interpreter: ScriptInterpreter) {
        let editor = LineEditor(historyPath: history ?? Self.defaultHistoryPath(),
                                completer: ShellCompleter(readers: { (try? PCSCContext().readerNames()) ?? [] }))
        print("apdu-shell: 'help' lists the commands, ^D leaves")
        while let line = editor.readLine(prompt: interpreter.state.isEmpty ? "apdu> " : "apdu[\(interpreter.state)]> ") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text == "quit" || text == "exit" { break }
            do {
                for parsed in try ScriptParser().parse(text, file: "<interactive>") {
                    try interpreter.execute(parsed)
                }
            } catch let error as ScriptFailure {
                print("error: \(error.underlying.map { "\($0)" } ?? "\(error)")")
            } catch {
                print("error: \(error)")
            }
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

    static func describe(_ failure: ScriptFailure, script: String) -> String {
        switch failure {
        case .expectationFailed(let file, let line, let text, let expected, let actual):
            return "apdu-shell: \(file) line \(line): expected \(expected), got \(actual.hex) (\(actual.meaning))\n    \(text)"
        default:
            return "apdu-shell: \(failure)"
        }
    }

    static func status(of failure: ScriptFailure) -> ExitStatus {
        switch failure {
        case .expectationFailed: return .expectationFailed
        case .unreadableScript: return .fileError
        case .invalidArgument, .unknownVariable, .notConnected: return .usage
        case .lineFailed(_, _, _, let error):
            switch error {
            case let failure as ScriptFailure: return status(of: failure)
            case is ScriptSyntaxError, is APDUError, is StatusPattern.PatternError: return .usage
            default: return ExitStatus.of(error, otherwise: .transportError)
            }
        }
    }

    static func fail(_ message: String, status: ExitStatus) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(status.rawValue)
    }
}

/// The --json transcript: one object with every line run and how it ended.
enum Transcript {
    static func print(_ entries: [ScriptInterpreter.Entry], script: String, failure: (String, ExitStatus)?) {
        let object: [String: Any] = [
            "script": script,
            "ok": failure == nil,
            "failure": failure?.0 ?? NSNull(),
            "exitCode": Int(failure?.1.rawValue ?? 0),
            "class": "\(failure?.1 ?? .success)",
            "steps": entries.map { entry in
                [
                    "file": entry.file, "line": entry.line, "text": entry.text, "ok": entry.ok,
                    "command": entry.command ?? NSNull(), "response": entry.response ?? NSNull(),
                    "status": entry.status ?? NSNull(), "expected": entry.expected ?? NSNull(),
                    "wire": entry.wire, "output": entry.output,
                ] as [String: Any]
            },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys,
                                                                                   .withoutEscapingSlashes])) ?? Data()
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
