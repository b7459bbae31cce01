/// Text from a card, a file or a peer, made safe to show on a terminal.
///
/// A terminal obeys control characters: ESC starts a sequence that can clear
/// the screen or move the cursor, CR returns to the start of the line so a
/// value can print a fake "OK" over the real verdict, and C1 characters and
/// bidirectional overrides change what a line appears to say. Every
/// human-readable line dmboot and apdu-shell print goes through this one
/// function, so such a character always shows as a visible escape instead.
/// JSON output is escaped by JSON's own rules (and `escapeJSON`) instead.
///
/// The escapes are printable ASCII, so escaping twice changes nothing: a layer
/// may escape a value it interpolates and the output sink escape the line again.
public enum TerminalText {
    /// `text` as one line: C0 controls (also LF and TAB), DEL, C1 controls and
    /// the invisible characters that reorder or split a line become escapes.
    public static func escape(_ text: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { append(scalar, to: &result) }
        return result
    }

    /// `text` kept on its lines: like `escape`, except that LF still breaks
    /// the line. For messages that are several lines by design; a value that
    /// came from outside belongs in a one-line `escape` before it is joined in.
    public static func escapeLines(_ text: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar == "\n" { result += "\n" } else { append(scalar, to: &result) }
        }
        return result
    }

    /// Bytes shown as text: valid UTF-8 as in `escape`, and every byte that is
    /// not part of a valid UTF-8 sequence as `\xNN`.
    public static func escape(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        if let text = String(validating: bytes, as: UTF8.self) { return escape(text) }
        var result = ""
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(bytes[index])
            if length > 0, index + length <= bytes.count,
               let text = String(validating: bytes[index..<index + length], as: UTF8.self) {
                result += escape(text)
                index += length
            } else {
                result += "\\x" + hex(UInt32(bytes[index]), digits: 2)
                index += 1
            }
        }
        return result
    }

    /// JSON text with the characters JSON allows raw but a terminal obeys
    /// (DEL, C1, bidirectional controls, line separators) written as `\uXXXX`.
    /// The value a JSON reader gets is the same. Only for text produced by a
    /// JSON serializer, where such characters can only sit inside strings.
    public static func escapeJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { isHidden($0) && $0.value >= 0x20 }) else { return json }
        var result = ""
        result.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            if isHidden(scalar) && scalar.value >= 0x20 {
                result += "\\u" + hex(scalar.value, digits: 4)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether a character would act on the terminal or hide in the line instead of showing.
    public static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true               // C0, DEL, C1
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // bidirectional marks, embeddings, overrides, isolates
        case 0x2028, 0x2029: return true                          // line and paragraph separators
        default: return false
        }
    }

    private static func append(_ scalar: Unicode.Scalar, to result: inout String) {
        guard isHidden(scalar) else {
            result.unicodeScalars.append(scalar)
            return
        }
        switch scalar {
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            result += scalar.value < 0x80 ? "\\x" + hex(scalar.value, digits: 2) : "\\u{" + hex(scalar.value, digits: 4) + "}"
        }
    }

    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 0
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
