import ArgumentParser
import CardCrypto
import CommandLineSupport
import ExitContract
import Foundation

@main
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
                      ResultsCommand.self, DashboardCommand.self,
                      ExitCodesCommand.self]
    )

    /// The shared entry runs the command line and ends the process with the
    /// documented status (dmboot(1), EXIT STATUS). `station --config FILE`
    /// reads its options from the file first, so that the command line's win.
    /// Most commands hold keys, PINs or passwords: no dmboot process leaves a
    /// core dump (SecretMemory).
    static func main() {
        SecretMemory.protectProcess()
        let entry = ToolEntry(name: "dmboot")
        let arguments = entry.arguments(Array(CommandLine.arguments.dropFirst())) {
            try OptionFile.expand($0, command: "station", option: "--config", refused: StationCommand.refusedInConfig)
        }
        entry.run(DMBoot.self, arguments: arguments)
    }
}

/// `dmboot exit-codes`: the contract, printable for scripts and the man page.
struct ExitCodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exit-codes", abstract: "List the exit codes and what each means.")

    @OptionGroup var output: OutputOptions

    func run() throws {
        if output.json {
            try Output.json(ExitStatus.allCases.map(ExitCodeEntry.init))
        } else {
            for status in ExitStatus.allCases {
                Output.line(String(format: "%3d  ", status.rawValue) + "\(status)".padding(toLength: 31, withPad: " ", startingAt: 0)
                            + status.summary)
            }
        }
    }
}

/// One code of `dmboot exit-codes --json`.
struct ExitCodeEntry: Encodable {
    let code: Int
    let `class`: String
    let meaning: String

    init(_ status: ExitStatus) {
        code = Int(status.rawValue)
        `class` = status.failureClass
        meaning = status.summary
    }
}

extension FailureReport {
    /// The failure fields of `error` for a command that has its own JSON object to report in.
    init(_ error: Error) {
        self.init(status: ToolEntry.status(of: error), message: ToolEntry.describe(error))
    }
}
