import APDU

/// The lines that change a card or write a file: `update`, `save`,
/// `write-bootstrap` and the PIN commands (apdu-script(5)).
extension ScriptParser {
    static let changeCommands = ["update", "save", "write-bootstrap", "verify", "change-pin", "unblock-pin"]

    static func changeStatement(_ command: String, _ arguments: ArraySlice<String>) throws -> Statement {
        let words = Array(arguments)
        switch command {
        case "update":
            let usage = "update takes an offset and hex, or an offset, file and a path: update 0 3F00A1 | update 16 file doc.bin"
            guard let offset = words.first, words.count >= 2 else { throw Reason(text: usage) }
            if !offset.contains("$") { _ = try bounded(offset, what: "offset", 0...FileChangeCommands.maxOffset) }
            if words[1].lowercased() == "file" {
                guard words.count == 3 else { throw Reason(text: usage) }
                return .update(offset: offset, hex: nil, file: words[2])
            }
            let hex = words.dropFirst().joined()
            try checkHex(hex, what: "the data")
            return .update(offset: offset, hex: hex, file: nil)
        case "save":
            guard (1...2).contains(words.count) else {
                throw Reason(text: "save takes a file, then optionally an EF to read whole: save out.bin | save tokeninfo.der TokenInfo")
            }
            return .save(path: words[0], name: words.count == 2 ? words[1] : nil)
        case "write-bootstrap":
            guard words.count == 2 else {
                throw Reason(text: "write-bootstrap takes a DODF label and a document: write-bootstrap \"DM bootstrap: demo server\" new.wbxml")
            }
            return .writeBootstrap(label: words[0], file: words[1])
        default:
            guard let action = Statement.PINAction(rawValue: command) else { throw Reason(text: "unknown command \(command)") }
            return try pinStatement(action, words)
        }
    }

    /// `verify [REF] [SOURCE]`, `change-pin [REF] [CURRENT NEW]`, `unblock-pin [REF] [PUK NEW]`;
    /// a source is env:NAME or file:PATH, so no PIN is ever written on a line.
    private static func pinStatement(_ action: Statement.PINAction, _ words: [String]) throws -> Statement {
        var rest = words[...]
        var reference = "01"
        if let first = rest.first, !isSecretSource(first) {
            if !first.contains("$") {
                guard let bytes = try? Hex.decode(first), bytes.count == 1 else {
                    // The word is not repeated: it may be a PIN typed on the line.
                    throw Reason(text: "\(action.rawValue): the word after it is neither a PIN reference (one hex byte) nor env:NAME or file:PATH; a PIN is never written on the line")
                }
            }
            reference = first
            rest = rest.dropFirst()
        }
        guard rest.isEmpty || rest.count == action.valueCount, rest.allSatisfy(isSecretSource) else {
            let values = action == .verify ? "SOURCE" : action == .change ? "CURRENT NEW" : "PUK NEW"
            throw Reason(text: "\(action.rawValue) takes [REF] [\(values)], each value env:NAME or file:PATH, or none to be asked without echo")
        }
        return .pin(action, reference: reference, sources: Array(rest))
    }

    static func isSecretSource(_ word: String) -> Bool {
        (word.hasPrefix("env:") && word.count > 4) || (word.hasPrefix("file:") && word.count > 5)
    }

    /// Whether the interactive shell may keep `line` in its history: a PIN
    /// command that does not parse may hold a PIN typed on the line.
    public static func keepsInHistory(_ line: String) -> Bool {
        guard let words = try? words(line), let command = words.first?.lowercased(),
              Statement.PINAction(rawValue: command) != nil else { return true }
        return (try? changeStatement(command, words.dropFirst())) != nil
    }
}
