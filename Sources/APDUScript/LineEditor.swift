import CEditLine
import Foundation
import Synchronization

/// Interactive input through libedit: line editing, a persistent history
/// file, tab completion of commands, keywords, names and readers, and Ctrl-C
/// that throws away the line being typed instead of ending the shell.
public final class LineEditor {
    private let historyPath: String?

    /// libedit calls back through C function pointers, which cannot capture;
    /// this is the state they consult, behind a lock.
    private struct Shared {
        var completer: ShellCompleter?
        var candidates: [String] = []
        var lineCancelled = false
    }
    private static let shared = Mutex(Shared())

    public init(historyPath: String?, completer: ShellCompleter) {
        self.historyPath = historyPath
        Self.shared.withLock { $0.completer = completer }
        // The shell's own SIGINT handler does the work; libedit must not replace it.
        cedit_set_catch_signals(0)
        // Before using_history(), which initialises libedit and reads these settings.
        cedit_set_getc_function { _ in LineEditor.readCharacter() }
        using_history()
        if let historyPath { read_history(historyPath) }
        cedit_set_completion_function { text, start, _ in
            let line = cedit_line_buffer().map { String(cString: $0) } ?? ""
            let prefix = String(line.utf8.prefix(Int(start))) ?? ""
            let word = text.map { String(cString: $0) } ?? ""
            let completion = LineEditor.shared.withLock { $0.completer?.complete(prefix: prefix, word: word) }
            guard let completion else { return nil }
            switch completion {
            case .files:
                return nil
            case .words(let words):
                cedit_set_completion_over(1)
                LineEditor.shared.withLock { $0.candidates = words }
                return rl_completion_matches(text) { _, state in
                    let candidate = LineEditor.shared.withLock { shared -> String? in
                        Int(state) < shared.candidates.count ? shared.candidates[Int(state)] : nil
                    }
                    return candidate.map { strdup($0) } ?? nil
                }
            }
        }
    }

    /// One key from the terminal. A read cut short by Ctrl-C ends the line
    /// (with a newline) and marks it cancelled, so it is neither run nor kept.
    private static func readCharacter() -> Int32 {
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count == 1 { return Int32(byte) }
            if count < 0 && errno == EINTR {
                if Interrupt.take() {
                    shared.withLock { $0.lineCancelled = true }
                    return Int32(UInt8(ascii: "\n"))
                }
                continue
            }
            return EOF
        }
    }

    /// The next line ("" after Ctrl-C), or nil at end of input (^D).
    public func readLine(prompt: String) -> String? {
        shared(cancelled: false)
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        if Self.shared.withLock({ $0.lineCancelled }) { return "" }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty && ScriptParser.keepsInHistory(line) {
            add_history(line)
            if let historyPath { write_history(historyPath) }
        }
        return line
    }

    private func shared(cancelled: Bool) {
        Self.shared.withLock { $0.lineCancelled = cancelled }
    }

    /// The lines in the history, oldest first (the `history` command).
    public var entries: [String] {
        (0..<Int(cedit_history_length())).compactMap { offset in
            history_get(cedit_history_base() + Int32(offset)).flatMap { $0.pointee.line.map { String(cString: $0) } }
        }
    }
}

/// What the shell offers at the cursor.
public struct ShellCompleter: Sendable {
    public enum Completion: Equatable, Sendable {
        case words([String])
        /// Let libedit complete a file name.
        case files
    }

    public var readers: @Sendable () -> [String]
    /// Names `cd`, `select` and `cat` understand where the card is now.
    public var names: @Sendable () -> [String]

    public init(readers: @escaping @Sendable () -> [String], names: @escaping @Sendable () -> [String] = { [] }) {
        self.readers = readers
        self.names = names
    }

    static let keywords: [String: [String]] = [
        "read": ["binary", "record", "all"],
        "scp03": ["open", "close"],
        "trace": ["on", "off"],
        "getresponse": ["on", "off"],
        "channel": ["open", "close", "0", "1", "2", "3"],
        "if": ["sw", "response"],
        "decode": CardDecoder.Kind.allCases.map(\.rawValue),
        "help": ShellHelp.commandNames,
    ]

    /// Completions for `word`, the text libedit will replace; `prefix` is the
    /// line before it. Inside an open double quote the candidates are the
    /// rest of a quoted name (reader names and labels hold spaces).
    public func complete(prefix: String, word: String) -> Completion {
        let quoteIndex = prefix.filter { $0 == "\"" }.count % 2 == 1 ? prefix.lastIndex(of: "\"") : nil
        let fragment = quoteIndex.map { String(prefix[prefix.index(after: $0)...]) + word } ?? word
        let before = quoteIndex.map { String(prefix[..<$0]) } ?? prefix
        let words = before.split(separator: " ").map(String.init)
        func matching(_ options: [String]) -> Completion {
            .words(options.filter { $0.hasPrefix(fragment) }.map { option in
                let quoted = quoteIndex != nil || option.contains(" ") ? "\"\(option)\"" : option
                guard quoteIndex != nil else { return quoted }
                // Replace only the word libedit cut out of the quoted fragment.
                return String(quoted.dropFirst(1 + fragment.count - word.count))
            })
        }
        guard let command = words.first?.lowercased() else { return matching(ShellHelp.commandNames) }
        switch command {
        case "include":
            return .files
        case "connect":
            return matching(readers())
        case "cd", "cat":
            return words.count == 1 ? matching(names()) : .words([])
        case "select":
            return words.count == 1 ? matching(["aid", "fid", "path"] + names()) : matching(["expect"])
        case "scp03" where words.count >= 2:
            if words.last == "keys" { return .files }
            return matching(["level", "keys", "gp-test-keys"])
        default:
            if words.count == 1, let options = Self.keywords[command] { return matching(options) }
            if words.count >= 2 && ["send", "read"].contains(command) { return matching(["expect"]) }
            return .words([])
        }
    }
}

/// Names the interactive shell hands to completion between two commands:
/// completion runs inside libedit, which must not reach into the interpreter.
public final class CompletionNames: Sendable {
    private let names = Mutex<[String]>([])

    public init() {}

    public func set(_ values: [String]) { names.withLock { $0 = values } }

    public var values: [String] { names.withLock { $0 } }
}
