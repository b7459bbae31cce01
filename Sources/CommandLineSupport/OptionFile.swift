import ArgumentParser
import ExitContract
import Foundation
import TerminalText

/// A command's options in a file (`dmboot station --config FILE`), one a
/// line, in the command line's own words so that nothing needs a second
/// name: `key = value` is `--key=value`, a key alone is the flag `--key`, a
/// key given twice is a repeated option; `#` starts a comment line. Options
/// on the command line win: a key the command line gives drops every line of
/// that key from the file.
///
/// Lines rather than JSON: a factory technician edits this file, comments say
/// why a station is set up as it is, and a path needs no quoting or escaping.
public struct OptionFile: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public let key: String
        /// Nil for a flag.
        public let value: String?
        public let number: Int
    }

    public let path: String
    public let lines: [Line]

    /// Reads and checks a file; `refused` maps the keys the file may not
    /// hold (secrets, the file's own option) to the reason the user reads.
    public static func load(path: String, refused: [String: String] = [:]) throws -> OptionFile {
        // Foundation's error names the file and exits 13 (ToolEntry).
        try OptionFile(path: path, text: try String(contentsOfFile: path, encoding: .utf8), refused: refused)
    }

    public init(path: String, text: String, refused: [String: String] = [:]) throws {
        self.path = path
        var lines: [Line] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
            guard let first = key.unicodeScalars.first, ("a"..."z").contains(first),
                  key.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
                throw OptionFileError.badLine(path: path, line: index + 1,
                                              reason: "\"\(TerminalText.escape(line.prefix(60)))\" is not key = value or a flag")
            }
            if let reason = refused[key] { throw OptionFileError.refusedKey(path: path, line: index + 1, key: key, reason: reason) }
            if value?.isEmpty == true {
                throw OptionFileError.badLine(path: path, line: index + 1, reason: "\(key) has no value after =")
            }
            lines.append(Line(key: key, value: value, number: index + 1))
        }
        self.lines = lines
    }

    /// The file's options as arguments, leaving out every key that
    /// `commandLine` gives (as `--key` or `--key=value`).
    public func arguments(overriddenBy commandLine: [String]) -> [String] {
        let given = Set(commandLine.prefix { $0 != "--" }.compactMap { argument -> String? in
            guard argument.hasPrefix("--") else { return nil }
            return String(argument.dropFirst(2).prefix { $0 != "=" })
        })
        return lines.filter { !given.contains($0.key) }.map { line in
            line.value.map { "--\(line.key)=\($0)" } ?? "--\(line.key)"
        }
    }

    /// `arguments` with the options of the file that `option` names spliced
    /// in right after `command`, before the command line's own; unchanged
    /// when the command line is not `command` or does not give `option`.
    public static func expand(_ arguments: [String], command: String, option: String,
                              refused: [String: String] = [:]) throws -> [String] {
        guard arguments.first == command else { return arguments }
        let rest = Array(arguments.dropFirst())
        let options = rest.prefix { $0 != "--" }
        var path: String?
        for (index, argument) in options.enumerated() {
            if argument == option, index + 1 < options.count {
                path = options[index + 1]
            } else if argument.hasPrefix(option + "=") {
                path = String(argument.dropFirst(option.count + 1))
            }
        }
        guard let path else { return arguments }
        let file = try load(path: path, refused: refused)
        return [command] + file.arguments(overriddenBy: rest) + rest
    }
}

public enum OptionFileError: Error, ClassifiedFailure, CustomStringConvertible, Equatable {
    case badLine(path: String, line: Int, reason: String)
    case refusedKey(path: String, line: Int, key: String, reason: String)

    public var exitStatus: ExitStatus {
        .usage
    }

    public var description: String {
        switch self {
        case .badLine(let path, let line, let reason):
            return "\(path), line \(line): \(reason) (a line is key = value, a flag's key alone, or a # comment; "
                + "a key is a long option without its dashes)"
        case .refusedKey(let path, let line, let key, let reason):
            return "\(path), line \(line): \(key) is refused in an options file: \(reason)"
        }
    }
}
