import CardCrypto
import Foundation

/// The protected MCIM provisioning blob of 3GPP S3-090792 (TR 33.812
/// 5.1.3.7.3.3): `PK_D(PIK | PCK) | ENC_PCK(data) | MAC_PIK(ENC_PCK(data))`
/// with `data = tag | payload_length | payload | version | filling_data`.
/// The contribution leaves the bytes open; dmboot fixes them (format 1,
/// documented in dmboot(1), MCIM BLOB):
///
///     "MCIM" | 01 | W (2) | OAEP-SHA256(PK_D, PIK(20) | PCK(16)) (W) |
///     IV (16) | L (4) | AES-128-CBC(PCK, IV, data) (L) | HMAC-SHA1(PIK, IV | ciphertext) (20)
///
/// ENC_PCK's output is taken to include its IV, so the MAC covers the IV too.
public enum MCIMBlob {
    public static let magic = Array("MCIM".utf8)
    public static let formatVersion: UInt8 = 0x01
    public static let dataVersion: UInt8 = 0x01
    static let integrityKeyLength = 20
    static let confidentialityKeyLength = 16
    static let macLength = 20

    public enum Tag: UInt8, CaseIterable, Sendable {
        case mcim = 0x01, algorithm = 0x02, update = 0x03

        public var name: String {
            switch self {
            case .mcim: return "mcim"
            case .algorithm: return "algorithm"
            case .update: return "update"
            }
        }
    }

    public struct Contents: Equatable, Sendable {
        public let tag: Tag
        public let version: UInt8
        public let payload: [UInt8]
    }

    /// Packs `payload` for the device whose public key is `publicKeyPEM`.
    public static func pack(payload: [UInt8], tag: Tag, publicKeyPEM: [UInt8], dataVersion: UInt8 = dataVersion) throws -> [UInt8] {
        let key = try RSAKey(pem: publicKeyPEM, isPrivate: false)
        var integrity = try Secure.randomBytes(integrityKeyLength)
        var confidentiality = try Secure.randomBytes(confidentialityKeyLength)
        defer {
            Secure.wipe(&integrity)
            Secure.wipe(&confidentiality)
        }
        let wrapped = try key.encrypt(integrity + confidentiality)
        var data = [tag.rawValue] + bigEndian(UInt32(payload.count)) + payload + [dataVersion]
        data += [UInt8](repeating: 0, count: (16 - data.count % 16) % 16)
        let iv = try Secure.randomBytes(16)
        let ciphertext = try AES.encrypt(data, key: SecretBytes(confidentiality), mode: .cbc, iv: iv)
        let mac = try MAC.hmac(.sha1, key: SecretBytes(integrity), message: iv + ciphertext)
        return magic + [formatVersion] + bigEndian(UInt16(wrapped.count)) + wrapped + iv
            + bigEndian(UInt32(ciphertext.count)) + ciphertext + mac
    }

    /// Opens a blob with the device's private key: every length is checked,
    /// the MAC is verified in constant time before anything is decrypted.
    public static func unpack(_ blob: [UInt8], privateKeyPEM: [UInt8]) throws -> Contents {
        var reader = Reader(bytes: blob)
        guard try reader.take(4) == magic else { throw MCIMError.badMagic }
        let version = try reader.take(1)[0]
        guard version == formatVersion else { throw MCIMError.unsupportedFormatVersion(version) }
        let key = try RSAKey(pem: privateKeyPEM, isPrivate: true)
        let wrappedLength = Int(try reader.integer(2))
        guard wrappedLength == key.size else { throw MCIMError.wrappedKeyLength(found: wrappedLength, expected: key.size) }
        let wrapped = try reader.take(wrappedLength)
        let iv = try reader.take(16)
        let length = Int(try reader.integer(4))
        guard length > 0, length % 16 == 0 else { throw MCIMError.ciphertextLength(length) }
        let ciphertext = try reader.take(length)
        let mac = try reader.take(macLength)
        guard reader.isAtEnd else { throw MCIMError.trailingBytes(blob.count - reader.offset) }
        var keys = try key.decrypt(wrapped)
        defer { Secure.wipe(&keys) }
        guard keys.count == integrityKeyLength + confidentialityKeyLength else { throw MCIMError.unwrapFailed }
        let integrity = SecretBytes(keys.prefix(integrityKeyLength))
        let confidentiality = SecretBytes(keys.suffix(confidentialityKeyLength))
        guard Secure.constantTimeEquals(try MAC.hmac(.sha1, key: integrity, message: iv + ciphertext), mac) else {
            throw MCIMError.macMismatch
        }
        var data = try AES.decrypt(ciphertext, key: confidentiality, mode: .cbc, iv: iv)
        defer { Secure.wipe(&data) }
        return try parse(data)
    }

    static func parse(_ data: [UInt8]) throws -> Contents {
        var reader = Reader(bytes: data)
        let tagByte = try reader.take(1)[0]
        guard let tag = Tag(rawValue: tagByte) else { throw MCIMError.unknownTag(tagByte) }
        let length = Int(try reader.integer(4))
        guard length <= data.count - reader.offset - 1 else { throw MCIMError.payloadLength(length) }
        let payload = try reader.take(length)
        let version = try reader.take(1)[0]
        guard version == dataVersion else { throw MCIMError.unsupportedDataVersion(version) }
        let filling = Array(data[reader.offset...])
        guard filling.count < 16, filling.allSatisfy({ $0 == 0 }) else { throw MCIMError.badFilling }
        return Contents(tag: tag, version: version, payload: payload)
    }

    static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var isAtEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) throws -> [UInt8] {
            guard count <= bytes.count - offset else {
                throw MCIMError.truncated(offset: offset, needed: count, available: bytes.count - offset)
            }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func integer(_ count: Int) throws -> UInt32 {
            try take(count).reduce(0) { $0 << 8 | UInt32($1) }
        }
    }
}

public enum MCIMError: Error, Equatable, CustomStringConvertible {
    case invalidKey(String)
    case cryptoFailure(String)
    case badMagic
    case unsupportedFormatVersion(UInt8)
    case truncated(offset: Int, needed: Int, available: Int)
    case wrappedKeyLength(found: Int, expected: Int)
    case ciphertextLength(Int)
    case trailingBytes(Int)
    case unwrapFailed
    case macMismatch
    case unknownTag(UInt8)
    case payloadLength(Int)
    case unsupportedDataVersion(UInt8)
    case badFilling

    public var description: String {
        switch self {
        case .invalidKey(let reason): return "the key file is \(reason)"
        case .cryptoFailure(let what): return "\(what) failed in OpenSSL"
        case .badMagic: return "not an MCIM blob: it does not start with \"MCIM\""
        case .unsupportedFormatVersion(let version): return "MCIM blob format \(version) is not 1"
        case .truncated(let offset, let needed, let available):
            return "the MCIM blob ends early: \(needed) bytes needed at offset \(offset), \(available) left"
        case .wrappedKeyLength(let found, let expected):
            return "the wrapped keys are \(found) bytes but this RSA key wraps \(expected)"
        case .ciphertextLength(let length): return "the ciphertext length \(length) is not a positive multiple of 16"
        case .trailingBytes(let count): return "\(count) bytes follow the MAC"
        case .unwrapFailed: return "the wrapped keys do not open with this private key (another device's blob, or altered)"
        case .macMismatch: return "the MCIM blob's MAC does not verify: it was altered; nothing was decrypted"
        case .unknownTag(let tag): return "data tag \(tag) is not MCIM (1), algorithm (2) or update (3)"
        case .payloadLength(let length): return "the payload length \(length) runs past the data"
        case .unsupportedDataVersion(let version): return "data version \(version) is not 1"
        case .badFilling: return "the filling after the data is not 0 to 15 zero bytes"
        }
    }
}
