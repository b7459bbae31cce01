import APDU

/// The classic offset / hex / ASCII view of bytes, as hexdump -C and
/// opensc-explorer show a file. Only printable ASCII reaches the terminal:
/// card bytes are untrusted and could otherwise drive it.
public enum HexDump {
    public static func lines(_ bytes: [UInt8], width: Int = 16) -> [String] {
        guard !bytes.isEmpty else { return ["(no data)"] }
        let offsetDigits = bytes.count > 0xFFFF ? 6 : 4
        return stride(from: 0, to: bytes.count, by: width).map { start in
            let row = bytes[start..<min(start + width, bytes.count)]
            let hex = row.map { Hex.encode([$0]) }.joined(separator: " ")
            let padded = hex + String(repeating: " ", count: max(0, width * 3 - 1 - hex.count))
            let text = String(row.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." })
            let offset = String(start, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, offsetDigits - offset.count)) + offset + "  " + padded + "  |" + text + "|"
        }
    }
}
