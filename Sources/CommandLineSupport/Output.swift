import Foundation
import JSONOutput
import TerminalText

/// Where a tool writes: one JSON document per command on stdout with --json,
/// human text on stdout otherwise, and progress and errors on stderr.
///
/// Human text carries values from cards and files, so every line is escaped
/// for the terminal here, at the one place it leaves (dmboot(1), OUTPUT).
public enum Output {
    /// One JSON document and a line break; nothing is written when it cannot be encoded.
    public static func json(_ value: some Encodable) throws(JSONOutputError) {
        let text = String(decoding: try JSONOutput.document(value), as: UTF8.self)
        FileHandle.standardOutput.write(Data((TerminalText.escapeJSON(text) + "\n").utf8))
    }

    /// One line of human output; a line break inside `text` is shown as `\n`.
    public static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((TerminalText.escape(text) + "\n").utf8))
    }

    /// Progress, warnings and errors; a message may span lines, each escaped.
    public static func progress(_ text: String) {
        FileHandle.standardError.write(Data((TerminalText.escapeLines(text) + "\n").utf8))
    }
}
