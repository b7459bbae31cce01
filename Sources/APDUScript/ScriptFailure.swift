import APDU
import TerminalText

/// Why a script stopped.
public enum ScriptFailure: Error, CustomStringConvertible {
    case expectationFailed(file: String, line: Int, text: String, expected: String, actual: StatusWord)
    case lineFailed(file: String, line: Int, text: String, error: Error)
    /// The script's own `fail "message"`.
    case failed(file: String, line: Int, message: String)
    case notConnected
    case invalidArgument(String)
    case unknownVariable(String)
    case unreadableScript(String, reason: String)
    /// Ctrl-C.
    case interrupted
    /// `scp03 open` (or `status`) with no key file anywhere.
    case noKeys

    public var description: String {
        switch self {
        case .expectationFailed(let file, let line, let text, let expected, let actual):
            return "\(file):\(line): expected status \(expected), the card answered \(actual)\n    \(text)"
        case .lineFailed(let file, let line, let text, let error):
            return "\(file):\(line): \(error)\n    \(text)"
        case .failed(let file, let line, let message):
            return "\(file):\(line): \(TerminalText.escape(message))"
        case .notConnected: return "no card is connected; connect first"
        case .invalidArgument(let reason): return reason
        case .unknownVariable(let name): return "no variable \"\(name)\" (set it first, or use $sw, $sw1, $sw2, $response)"
        case .unreadableScript(let path, let reason): return "cannot read the script \(path): \(reason)"
        case .interrupted: return "interrupted (Ctrl-C)"
        case .noKeys:
            return "no SCP03 keys: give scp03 open keys FILE, start apdu-shell with --keys FILE, set DMBOOT_KEYS, or use scp03 open gp-test-keys on a development card"
        }
    }

    /// The error below the line, for exit codes.
    public var underlying: Error? {
        if case .lineFailed(_, _, _, let error) = self { return error }
        return nil
    }
}
