import APDU
import PKCS15
import TerminalText

/// A BER-TLV structure drawn as an indented tree, with the names ISO/IEC
/// 7816-4, ETSI TS 102 221 and GlobalPlatform give the tags a card engineer
/// meets most. Unknown tags are shown by number; nothing is guessed.
public enum TLVTree {
    /// Tag names by context: the same number means different things inside
    /// an FCP and inside a GlobalPlatform registry entry.
    static let names: [UInt32: String] = [
        0x4F: "application identifier (AID)", 0x50: "application label", 0x51: "path", 0x52: "command to perform",
        0x53: "discretionary data", 0x61: "application template", 0x62: "FCP template", 0x64: "FMD template",
        0x6F: "FCI template", 0x66: "card data", 0x73: "discretionary data objects",
        0x80: "file size (data bytes)", 0x81: "total file size", 0x82: "file descriptor", 0x83: "file identifier",
        0x84: "DF name (AID)", 0x85: "proprietary information", 0x86: "security attributes (proprietary)",
        0x87: "EF with FCI extension", 0x88: "short EF identifier", 0x8A: "life cycle status",
        0x8B: "security attributes (referenced)", 0x8C: "security attributes (compact)",
        0xA5: "proprietary information", 0xAB: "security attributes (expanded)", 0xC6: "PIN status template",
        0x9F7F: "CPLC", 0xE0: "key information template", 0xC0: "key information data",
        0xE3: "GlobalPlatform registry entry", 0x9F70: "life cycle state", 0xC5: "privileges",
        0xC4: "executable load file AID", 0xCE: "version number", 0xCC: "associated security domain AID",
        0xCF: "implicit selection parameter", 0xEA: "DAP / token data", 0x9F6E: "application production life cycle",
        0x9F65: "maximum length of data field in command message", 0x5F2D: "language preference",
    ]

    public static func name(of tag: UInt32) -> String? { names[tag] }

    public static func lines(_ bytes: [UInt8], file: String = "data") throws -> [String] {
        var lines: [String] = []
        var reader = BERReader(bytes, file: file)
        try walk(&reader, depth: 0, into: &lines)
        if !reader.isAtEnd { lines.append("(\(bytes.count - reader.currentOffset) bytes of padding)") }
        return lines
    }

    private static func walk(_ reader: inout BERReader, depth: Int, into lines: inout [String]) throws {
        let indent = String(repeating: "  ", count: depth)
        while let element = try reader.next() {
            let tag = String(element.tag, radix: 16, uppercase: true)
            let label = names[element.tag].map { " \($0)" } ?? ""
            if element.isConstructed {
                lines.append("\(indent)\(tag)\(label) (\(element.value.count) bytes)")
                var inner = try reader.children(of: element)
                try walk(&inner, depth: depth + 1, into: &lines)
            } else {
                lines.append("\(indent)\(tag)\(label): \(Printable.hexAndText(element.bytes))")
            }
        }
    }
}

/// Bytes shown as hex, plus their text when every byte is printable ASCII.
enum Printable {
    static func hexAndText(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "(empty)" }
        let hex = Hex.encode(bytes, separator: " ")
        guard bytes.count >= 2, bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else { return hex }
        return "\(hex) \"\(String(decoding: bytes, as: UTF8.self))\""
    }
}
