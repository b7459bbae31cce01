import Foundation

/// The security mode of Auth/Bootstrap/SecMode. The CR makes the node `bin`
/// and gives no encoding ("For example, PSK mode, X509 mode"), so dmboot
/// reads the names as text in any case, and the one-byte codes OMA LwM2M's
/// Security object uses for its Security Mode resource (0 PSK, 2 Certificate).
public enum SecurityMode: String, Sendable {
    case psk = "PSK"
    case x509 = "X509"

    public init?(secMode bytes: [UInt8]) {
        if bytes == [0x00] {
            self = .psk
            return
        }
        if bytes == [0x02] {
            self = .x509
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        switch text.trimmed.uppercased() {
        case "PSK": self = .psk
        case "X509", "X.509": self = .x509
        default: return nil
        }
    }

    /// The value for a message: its text when printable, else its bytes in hex.
    public static func describe(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.isEmpty,
           !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "\"\(text)\""
        }
        return "0x" + bytes.map { String(format: "%02X", $0) }.joined()
    }
}
