import Foundation
import TerminalText

/// Progress and errors go to stderr, escaped for the terminal: a profile's
/// name or a path may carry control characters.
enum Progress {
    static func report(_ text: String) {
        FileHandle.standardError.write(Data((TerminalText.escapeLines(text) + "\n").utf8))
    }
}
