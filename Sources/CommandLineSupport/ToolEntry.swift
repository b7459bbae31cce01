import ArgumentParser
import ExitContract
import Foundation

/// How every executable of the package runs its command line and ends the
/// process: help and version exit 0, every command-line mistake exits 2
/// (`usage`), and each failure exits with its class's code of the exit-code
/// contract. With --json on the command line a failure is also one JSON
/// object on stdout (`FailureReport`), so a script reads every outcome the
/// same way; the message goes to stderr, escaped, every line after the
/// first indented.
///
/// Each tool stays an `@main` root command whose `static func main()` hands
/// itself to `run`, rather than this type being the entry point that looks up
/// the command: the root type already names the tool, its version and its
/// subcommands, and the argument parser's own `main()` (which exits 64 for a
/// usage mistake and knows nothing of the contract) must not be the one that
/// ends the process.
public struct ToolEntry: Sendable {
    /// The tool's name, the prefix of its messages on stderr.
    public let name: String
    /// The exit status of an error a command throws.
    public let classify: @Sendable (any Error) -> ExitStatus
    /// What an error says to the user, on stderr and in the JSON failure.
    public let describe: @Sendable (any Error) -> String

    public init(name: String, classify: @escaping @Sendable (any Error) -> ExitStatus = { ToolEntry.status(of: $0) },
                describe: @escaping @Sendable (any Error) -> String = { ToolEntry.describe($0) }) {
        self.name = name
        self.classify = classify
        self.describe = describe
    }

    /// Parses `arguments` as `Root`'s command line, runs the command, and exits.
    public func run<Root: ParsableCommand>(_ root: Root.Type,
                                           arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        // `--version` alone is answered before the parser, as the parser
        // would answer it: parsing first builds the argument sets of the
        // command tree through reflection, half of what `dmboot --version`
        // executed (scripts/bench-startup.sh).
        if arguments == ["--version"], !root.configuration.version.isEmpty {
            Output.line(root.configuration.version)
            Foundation.exit(ExitStatus.success.rawValue)
        }
        let json = Self.asksForJSON(arguments)
        var command: any ParsableCommand
        do {
            command = try root.parseAsRoot(arguments)
        } catch {
            parserFailure(root, error, json: json)
        }
        do {
            try command.run()
        } catch let failure as ReportedFailure {
            fail(classify(failure.error), describe(failure.error), json: false)
        } catch {
            // The parser's `help` subcommand shows its help by throwing from run.
            if root.exitCode(for: error) == .success { root.exit(withError: error) }
            fail(classify(error), describe(error), json: json)
        }
        Foundation.exit(ExitStatus.success.rawValue)
    }

    /// `arguments` as `expand` rewrites them before parsing (an options file
    /// spliced in: `OptionFile.expand`); a failure to do so ends the process
    /// as a failing command does.
    public func arguments(_ arguments: [String], expandedBy expand: ([String]) throws -> [String]) -> [String] {
        do {
            return try expand(arguments)
        } catch {
            fail(classify(error), describe(error), json: Self.asksForJSON(arguments))
        }
    }

    /// The argument parser's outcomes: help and version (its clean exits),
    /// usage mistakes, and what it cannot classify (a bug).
    private func parserFailure<Root: ParsableCommand>(_ root: Root.Type, _ error: any Error, json: Bool) -> Never {
        switch root.exitCode(for: error) {
        case .success:
            root.exit(withError: error)
        case .validationFailure:
            if json { report(FailureReport(status: .usage, message: root.message(for: error))) }
            Output.progress(root.fullMessage(for: error))
            Foundation.exit(ExitStatus.usage.rawValue)
        default:
            fail(.internalError, root.fullMessage(for: error), json: json)
        }
    }

    private func fail(_ status: ExitStatus, _ message: String, json: Bool) -> Never {
        if json { report(FailureReport(status: status, message: message)) }
        Output.progress("\(name): \(Self.indented(message))")
        Foundation.exit(status.rawValue)
    }

    /// A failure object has only strings and integers, which always encode;
    /// were it ever not to, the message on stderr and the status still tell.
    private func report(_ failure: FailureReport) {
        do { try Output.json(failure) } catch { Output.progress("\(name): \(error)") }
    }

    /// The status of an error a command throws: the class each layer's error
    /// states for itself, a command-line mistake found while running (2), a
    /// file Foundation could not read or write (13), else a bug (1).
    public static func status(of error: any Error) -> ExitStatus {
        switch error {
        case is ValidationError: return .usage
        case is CocoaError: return .fileError
        default: return ExitStatus.of(error, otherwise: .internalError)
        }
    }

    /// What an error says to the user: its own text, except for Foundation's
    /// file errors, which would print as a dictionary.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? CocoaError else { return "\(error)" }
        let path = error.filePath ?? "a file"
        let reason = error.userInfo[NSLocalizedDescriptionKey] as? String
            ?? (error.underlying.map { "\($0.localizedDescription)" })
            ?? (error.isFileError ? "file error \(error.code.rawValue)" : "error \(error.code.rawValue)")
        return "cannot read or write \(path): \(reason)"
    }

    /// Whether the command line asks for JSON, read before parsing so that a
    /// command line that does not parse still answers in JSON.
    public static func asksForJSON(_ arguments: [String]) -> Bool {
        arguments.prefix { $0 != "--" }.contains("--json")
    }

    /// A message of several lines with every line after the first indented, so
    /// no line of an error, whatever a card or file put into it, can pass for a
    /// line of the tool's own.
    public static func indented(_ message: String) -> String {
        let lines = message.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        var result = lines.first ?? ""
        for line in lines.dropFirst() {
            result += line.hasPrefix(" ") ? "\n" + line : "\n  " + line
        }
        return result
    }
}
