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
    /// A change to the card (or a file) no one agreed to; nothing was sent.
    case notConfirmed(String)
    /// The card refused a PIN (or the PUK); not retried.
    case pinRefused(reference: UInt8, triesLeft: Int, puk: Bool)
    /// The PIN (or its PUK) is blocked; nothing was sent.
    case pinBlocked(reference: UInt8)
    /// A PIN the command needs has no source here.
    case noSecret(String)
    /// write-bootstrap: the document does not fit the space its DODF entry names.
    case documentTooLarge(label: String, size: Int, capacity: Int)
    /// write-bootstrap: what the card holds after writing is not what was written.
    case readBackDiffers(String)

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
        case .notConfirmed(let change):
            return "not confirmed, nothing was changed: \(TerminalText.escape(change)) (answer y, or run the script with --yes)"
        case .pinRefused(let reference, let left, let puk):
            return "the card refused the \(puk ? "PUK of PIN" : "PIN") \(Hex.encode([reference])): \(left) \(left == 1 ? "try" : "tries") left; not retried"
        case .pinBlocked(let reference):
            return "PIN \(Hex.encode([reference])) (or its PUK) is blocked; nothing was sent (unblock-pin with the PUK)"
        case .noSecret(let reason): return reason
        case .documentTooLarge(let label, let size, let capacity):
            return "the document is \(size) bytes; \"\(TerminalText.escape(label))\" has room for \(capacity); nothing was written"
        case .readBackDiffers(let label):
            return "\"\(TerminalText.escape(label))\" does not read back as written; the card holds something else now"
        }
    }

    /// The error below the line, for exit codes.
    public var underlying: Error? {
        if case .lineFailed(_, _, _, let error) = self { return error }
        return nil
    }
}
