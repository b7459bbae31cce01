import ArgumentParser
import ExitContract
import Foundation

struct DMBoot: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dmboot",
        abstract: "Provision OMA DM accounts from a smartcard's PKCS#15 bootstrap over a GlobalPlatform SCP03 channel.",
        discussion: """
        Exit status: 0 success, 2 usage; see dmboot(1), EXIT STATUS, for every code.
        """,
        version: version,
        subcommands: [ProvisionCommand.self, StationCommand.self, ReadersCommand.self, CardCommand.self, SCP03Command.self, KeysCommand.self, ReadCommand.self,
                      DecodeCommand.self, TreeCommand.self, PushCommand.self, AuthCommand.self, MCIMCommand.self,
                      ResultsCommand.self,
                      ExitCodesCommand.self]
    )

    /// Runs the command line and ends the process with the documented status:
    /// help and version exit 0, every command-line mistake exits 2, and each
    /// failure of a layer exits with its class's code. With --json a failure
    /// is also one JSON object on stdout, so a script reads every outcome the
    /// same way.
    static func runAndExit() -> Never {
        let json = asksForJSON(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot()
            try command.run()
            Foundation.exit(ExitStatus.success.rawValue)
        } catch let failure as ReportedFailure {
            fail(ExitStatus.of(failure.error), describe(failure.error), json: false)
        } catch {
            let status = ExitStatus.of(error)
            if status != .internalError { fail(status, describe(error), json: json) }
            // What is left is the argument parser's: help, version, usage mistakes.
            switch exitCode(for: error) {
            case .success:
                DMBoot.exit(withError: error)
            case .validationFailure:
                if json { Output.json(FailureReport(status: .usage, message: message(for: error)).json) }
                Output.progress(fullMessage(for: error))
                Foundation.exit(ExitStatus.usage.rawValue)
            default:
                fail(.internalError, fullMessage(for: error), json: json)
            }
        }
    }

    private static func fail(_ status: ExitStatus, _ message: String, json: Bool) -> Never {
        if json { Output.json(FailureReport(status: status, message: message).json) }
        Output.progress("dmboot: \(indented(message))")
        Foundation.exit(status.rawValue)
    }

    /// Whether the command line asks for JSON, read before parsing so that a
    /// command line that does not parse still answers in JSON.
    static func asksForJSON(_ arguments: ArraySlice<String>) -> Bool {
        arguments.prefix { $0 != "--" }.contains("--json")
    }
}

/// A failure as --json reports it: the exit code, its class (as `dmboot
/// exit-codes` names it), and the message.
struct FailureReport {
    let status: ExitStatus
    let message: String

    var json: [String: Any] {
        ["ok": false, "exitCode": Int(status.rawValue), "class": "\(status)", "message": message]
    }

    /// The failure fields for a command that has its own JSON object to report in.
    static func fields(for error: Error) -> [String: Any] {
        FailureReport(status: .of(error), message: describe(error)).json
    }
}

/// An error the command has already reported in its JSON object: only the
/// message on stderr and the exit status remain to be done.
struct ReportedFailure: Error {
    let error: Error
}

/// What an error says to the user: the error's own text, except for file
/// errors, which Foundation prints as a dictionary.
func describe(_ error: Error) -> String {
    guard let error = error as? CocoaError else { return "\(error)" }
    let path = error.filePath ?? "a file"
    let reason = error.userInfo[NSLocalizedDescriptionKey] as? String
        ?? (error.underlying.map { "\($0.localizedDescription)" })
        ?? (error.isFileError ? "file error \(error.code.rawValue)" : "error \(error.code.rawValue)")
    return "cannot read or write \(path): \(reason)"
}

/// A message of several lines with every line after the first indented, so
/// no line of an error, whatever a card or file put into it, can pass for a
/// line of dmboot's own.
func indented(_ message: String) -> String {
    let lines = message.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
    var result = lines.first ?? ""
    for line in lines.dropFirst() {
        result += line.hasPrefix(" ") ? "\n" + line : "\n  " + line
    }
    return result
}

/// `dmboot exit-codes`: the contract, printable for scripts and the man page.
struct ExitCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exit-codes", abstract: "List the exit codes and what each means.")

    @OptionGroup var output: OutputOptions

    func run() throws {
        if output.json {
            Output.json(ExitStatus.allCases.map { ["code": Int($0.rawValue), "class": "\($0)", "meaning": $0.summary] })
        } else {
            for status in ExitStatus.allCases {
                Output.line(String(format: "%3d  ", status.rawValue) + "\(status)".padding(toLength: 31, withPad: " ", startingAt: 0)
                            + status.summary)
            }
        }
    }
}
