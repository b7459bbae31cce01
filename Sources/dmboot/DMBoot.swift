import ArgumentParser
import Foundation

struct DMBoot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmboot",
        abstract: "Provision OMA DM accounts from a smartcard's PKCS#15 bootstrap over a GlobalPlatform SCP03 channel.",
        discussion: """
        Exit status: 0 success, 2 usage; see dmboot(1), EXIT STATUS, for every code.
        """,
        version: "0.1.0",
        subcommands: [ProvisionCommand.self, StationCommand.self, ReadersCommand.self, CardCommand.self, SCP03Command.self, ReadCommand.self,
                      DecodeCommand.self, TreeCommand.self, PushCommand.self, AuthCommand.self, MCIMCommand.self,
                      SimulateCommand.self,
                      ExitCodesCommand.self]
    )

    /// Runs the command line and ends the process with the documented status:
    /// help and version exit 0, every command-line mistake exits 2, and each
    /// failure of a layer exits with its class's code.
    static func runAndExit() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Foundation.exit(ExitStatus.success.rawValue)
        } catch {
            let status = ExitStatus.of(error)
            if status != .internalError {
                Output.progress("dmboot: \(indented(describe(error)))")
                Foundation.exit(status.rawValue)
            }
            // What is left is the argument parser's: help, version, usage mistakes.
            switch exitCode(for: error) {
            case .success:
                DMBoot.exit(withError: error)
            case .validationFailure:
                Output.progress(fullMessage(for: error))
                Foundation.exit(ExitStatus.usage.rawValue)
            default:
                Output.progress("dmboot: \(fullMessage(for: error))")
                Foundation.exit(ExitStatus.internalError.rawValue)
            }
        }
    }
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
