import Foundation
import TerminalText

/// Where dmboot writes: one JSON object per command on stdout with --json,
/// human text on stdout otherwise, and progress and errors on stderr.
///
/// Human text carries values from cards and files, so every line is escaped
/// for the terminal here, at the one place it leaves (dmboot(1), OUTPUT).
enum Output {
    static func json(_ value: Any) {
        let data = try! JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(Data(TerminalText.escapeJSON(String(decoding: data, as: UTF8.self)).utf8))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// One line of human output; a line break inside `text` is shown as `\n`.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((TerminalText.escape(text) + "\n").utf8))
    }

    /// Progress, warnings and errors; a message may span lines, each escaped.
    static func progress(_ text: String) {
        FileHandle.standardError.write(Data((TerminalText.escapeLines(text) + "\n").utf8))
    }
}
