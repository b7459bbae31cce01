import CEditLine
import Foundation
import Synchronization

/// Interactive input through libedit: line editing, a persistent history
/// file and tab completion of commands, keywords, file names and readers.
public final class LineEditor {
    private let historyPath: String?

    /// Completion works from C callbacks, which cannot capture; this is the
    /// one completer they consult, and the words of the completion under way.
    struct Completion {
        var completer: ShellCompleter?
        var candidates: [String] = []
    }

    static let completion = Mutex(Completion())

    public init(historyPath: String?, completer: ShellCompleter) {
        self.historyPath = historyPath
        Self.completion.withLock { $0.completer = completer }
        using_history()
        if let historyPath { read_history(historyPath) }
        cedit_set_completion_function { text, start, _ in
            let line = cedit_line_buffer().map { String(cString: $0) } ?? ""
            let prefix = String(line.prefix(Int(start)))
            let word = text.map { String(cString: $0) } ?? ""
            let completer = LineEditor.completion.withLock { $0.completer }
            guard let completion = completer?.complete(prefix: prefix, word: word) else { return nil }
            switch completion {
            case .files:
                return nil
            case .words(let words):
                cedit_set_completion_over(1)
                LineEditor.completion.withLock { $0.candidates = words }
                return rl_completion_matches(text) { _, state in
                    let index = Int(state)
                    let candidates = LineEditor.completion.withLock { $0.candidates }
                    guard index < candidates.count else { return nil }
                    return strdup(candidates[index])
                }
            }
        }
    }

    /// The next line, or nil at end of input (^D).
    public func readLine(prompt: String) -> String? {
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            add_history(line)
            if let historyPath { write_history(historyPath) }
        }
        return line
    }
}

/// What the shell offers at the cursor.
public struct ShellCompleter: Sendable {
    public enum Completion: Equatable {
        case words([String])
        /// Let libedit complete a file name.
        case files
    }

    public var readers: @Sendable () -> [String]

    public init(readers: @escaping @Sendable () -> [String]) {
        self.readers = readers
    }

    static let keywords: [String: [String]] = [
        "select": ["aid", "fid", "path"],
        "read": ["binary", "record", "all"],
        "scp03": ["open", "close"],
        "trace": ["on", "off"],
        "help": ShellHelp.commandNames,
    ]

    public func complete(prefix: String, word: String) -> Completion {
        let words = prefix.split(separator: " ").map(String.init)
        let matching = { (options: [String]) -> Completion in .words(options.filter { $0.hasPrefix(word) }) }
        guard let command = words.first?.lowercased() else { return matching(ShellHelp.commandNames) }
        switch command {
        case "include":
            return .files
        case "connect":
            return matching(readers().map { $0.contains(" ") ? "\"\($0)\"" : $0 })
        case "scp03" where words.count >= 2:
            if words.last == "keys" { return .files }
            return matching(["level", "keys", "gp-test-keys"])
        default:
            if words.count == 1, let options = Self.keywords[command] { return matching(options) }
            if words.count >= 2 { return matching(["expect"]) }
            return .words([])
        }
    }
}
