import CardCrypto
import Foundation

/// OMA DM's application-layer authentication helpers (Security 5.4.2, 5.6.1).
public enum DMAuthentication {
    public enum DigestAlgorithm: String, CaseIterable, Sendable {
        case md5, sha256

        var hash: MAC.Digest { self == .md5 ? .md5 : .sha256 }
        public var scheme: String { self == .md5 ? "syncml:auth-md5" : "syncml:auth-sha256" }
    }

    /// Digest = H(B64(H(username:password)):nonce), the Cred data of
    /// syncml:auth-md5 and syncml:auth-sha256 (binary; base64 it for XML).
    public static func digest(username: String, password: String, nonce: [UInt8], algorithm: DigestAlgorithm) throws -> [UInt8] {
        var credentials = Array("\(username):\(password)".utf8)
        defer { Secure.wipe(&credentials) }
        let inner = try Hash.digest(algorithm.hash, credentials)
        let encoded = Array(Data(inner).base64EncodedString().utf8)
        return try Hash.digest(algorithm.hash, encoded + [0x3A] + nonce)
    }
}

/// The x-syncml-hmac header (5.6.1): MAC = HMAC-SHA256(K, Timestamp ":" Msg).
public struct SyncMLHMACHeader: Equatable, Sendable, CustomStringConvertible {
    public var algorithm: String
    public var serverID: String?
    public var timestamp: String
    public var mac: [UInt8]

    public init(algorithm: String = "HMAC-SHA256", serverID: String?, timestamp: String, mac: [UInt8]) {
        self.algorithm = algorithm
        self.serverID = serverID
        self.timestamp = timestamp
        self.mac = mac
    }

    /// Signs `message` with `key` at `timestamp` (YYYY-MM-DDThh:mm:ssZ).
    public static func sign(message: [UInt8], key: SecretBytes, serverID: String?, timestamp: String) throws -> SyncMLHMACHeader {
        SyncMLHMACHeader(serverID: serverID, timestamp: timestamp,
                         mac: try MAC.hmac(.sha256, key: key, message: Array("\(timestamp):".utf8) + message))
    }

    /// Checks `message` in constant time.
    public func verify(message: [UInt8], key: SecretBytes) throws {
        guard algorithm.uppercased() == "HMAC-SHA256" else { throw HMACHeaderError.unsupportedAlgorithm(algorithm) }
        let expected = try MAC.hmac(.sha256, key: key, message: Array("\(timestamp):".utf8) + message)
        guard Secure.constantTimeEquals(expected, mac) else { throw HMACHeaderError.macMismatch }
    }

    /// Parses the header value. The ABNF says comma-separated; OMA's own
    /// example uses semicolons; both are read. Names ignore case.
    public init(parsing value: String) throws {
        var fields: [String: String] = [:]
        var current = ""
        var quoted = false
        var parts: [String] = []
        for character in value {
            if character == "\"" { quoted.toggle() }
            if (character == "," || character == ";") && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !quoted else { throw HMACHeaderError.malformed("a quoted string is not closed") }
        parts.append(current)
        for part in parts {
            let trimmed = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { throw HMACHeaderError.malformed("\"\(trimmed)\" is not name=value") }
            let name = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var fieldValue = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if fieldValue.hasPrefix("\"") && fieldValue.hasSuffix("\"") && fieldValue.count >= 2 {
                fieldValue = String(fieldValue.dropFirst().dropLast()).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard fields[name] == nil else { throw HMACHeaderError.malformed("\(name) appears twice") }
            fields[name] = fieldValue
        }
        guard let timestamp = fields["timestamp"] else { throw HMACHeaderError.missing("Timestamp") }
        guard let mac = fields["mac"] else { throw HMACHeaderError.missing("mac") }
        guard let bytes = Data(base64Encoded: mac) else { throw HMACHeaderError.malformed("mac is not base64") }
        self.init(algorithm: fields["algorithm"] ?? "HMAC-SHA256", serverID: fields["serverid"], timestamp: timestamp,
                  mac: [UInt8](bytes))
    }

    /// The ABNF form: comma-separated, ServerId and Timestamp quoted.
    public var description: String {
        var parts = ["algorithm=\(algorithm)"]
        if let serverID { parts.append("ServerId=\"\(serverID)\"") }
        parts.append("Timestamp=\"\(timestamp)\"")
        parts.append("mac=\(Data(mac).base64EncodedString())")
        return parts.joined(separator: ", ")
    }
}

public enum HMACHeaderError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case missing(String)
    case unsupportedAlgorithm(String)
    case macMismatch

    public var description: String {
        switch self {
        case .malformed(let reason): return "x-syncml-hmac is malformed: \(reason)"
        case .missing(let name): return "x-syncml-hmac has no \(name) parameter"
        case .unsupportedAlgorithm(let name): return "x-syncml-hmac algorithm \(name) is not HMAC-SHA256"
        case .macMismatch: return "the message's x-syncml-hmac does not verify: altered message, wrong key or wrong Timestamp"
        }
    }
}
