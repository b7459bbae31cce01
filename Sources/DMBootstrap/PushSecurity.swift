import APDU
import CardCrypto

/// The Content-Type of a pushed DM bootstrap (OMA DM Security 5.10.2.3.2):
/// `application/vnd.syncml.dm+wbxml;KEYTYPE;40HEXDIG`, parsed exactly by its
/// ABNF (no spaces anywhere, one key type, a 40-digit hex HMAC).
public struct PushContentType: Equatable, Sendable, CustomStringConvertible {
    public static let mimeType = "application/vnd.syncml.dm+wbxml"

    public enum KeyType: Equatable, Sendable, CustomStringConvertible {
        case networkID, userPIN, userPINNetworkID
        case other(String)

        init(_ text: String) {
            switch text {
            case "NETWORKID": self = .networkID
            case "USERPIN": self = .userPIN
            case "USERPIN_NETWORKID": self = .userPINNetworkID
            default: self = .other(text)
            }
        }

        public var description: String {
            switch self {
            case .networkID: return "NETWORKID"
            case .userPIN: return "USERPIN"
            case .userPINNetworkID: return "USERPIN_NETWORKID"
            case .other(let name): return name
            }
        }
    }

    public let keyType: KeyType
    public let digest: [UInt8]

    public init(keyType: KeyType, digest: [UInt8]) {
        self.keyType = keyType
        self.digest = digest
    }

    public init(parsing value: String) throws {
        let fields = value.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard fields[0] == Self.mimeType else {
            throw PushError.wrongMIMEType(fields[0].isEmpty ? "(empty)" : fields[0])
        }
        guard fields.count >= 2 else { throw PushError.missingKeyType }
        guard fields.count >= 3 else { throw PushError.missingDigest }
        guard fields.count == 3 else { throw PushError.extraFields(fields.count - 3) }
        let keyType = fields[1]
        guard !keyType.isEmpty else { throw PushError.missingKeyType }
        guard keyType.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw PushError.invalidKeyType(keyType)
        }
        let digest = fields[2]
        // 40HEXDIG is ASCII hex (RFC 5234 HEXDIG); Character.isHexDigit would also take fullwidth digits.
        guard digest.unicodeScalars.count == 40 else { throw PushError.digestLength(digest.unicodeScalars.count) }
        let isASCIIHex = digest.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
        guard isASCIIHex, let bytes = try? Hex.decode(digest) else {
            throw PushError.digestNotHex(digest)
        }
        self.keyType = KeyType(keyType)
        self.digest = bytes
    }

    /// The value a sender puts in the header: upper-case hex digest.
    public var description: String { "\(Self.mimeType);\(keyType);\(Hex.encode(digest))" }
}

/// The shared secret of a pushed bootstrap, by key type (5.10.2.3). PINs,
/// shared secrets and raw keys are `SecretBytes`: wiped when the last
/// reference goes, and printed as their length only.
public enum PushSecret: Sendable {
    /// NETWORKID: a network-provided secret, or (legacy DM 1.2) an IMSI or ESN.
    case networkID(NetworkID)
    /// The user PIN's bytes (UTF-8, as typed).
    case userPIN(SecretBytes)
    /// "pin:networkid".
    case userPINNetworkID(pin: SecretBytes, networkID: NetworkID)
    /// A raw key for another key type.
    case raw(SecretBytes)

    public var keyType: PushContentType.KeyType? {
        switch self {
        case .networkID: return .networkID
        case .userPIN: return .userPIN
        case .userPINNetworkID: return .userPINNetworkID
        case .raw: return nil
        }
    }

    /// The HMAC key.
    public var key: SecretBytes {
        switch self {
        case .networkID(let id): return id.key
        case .userPIN(let pin): return pin
        case .raw(let key): return key
        case .userPINNetworkID(let pin, let id):
            let idKey = id.key
            // Reserved up front, so appending never leaves a copy behind in a grown-out-of buffer.
            var joined: [UInt8] = []
            joined.reserveCapacity(pin.count + 1 + idKey.count)
            pin.withBytes { joined.append(contentsOf: $0) }
            joined.append(0x3A)
            idKey.withBytes { joined.append(contentsOf: $0) }
            return SecretBytes(wiping: &joined)
        }
    }

    /// A NETWORKID made of an IMSI or ESN alone: anyone who knows it can
    /// forge a bootstrap (CR OMA-DM 1.3 network bootstrap shared secret).
    public var isLegacyNetworkIDOnly: Bool {
        if case .networkID(let id) = self { return id.isLegacy }
        return false
    }
}

/// The NETWORKID forms.
public enum NetworkID: Sendable {
    /// A secret the device and the network provider share.
    case sharedSecret(SecretBytes)
    /// GSM/UMTS: the IMSI as EF_IMSI holds it without its length byte: the
    /// identity nibble (9 odd, 1 even digit count), the digits, an F filler
    /// for an even count, nibbles swapped in each byte.
    case imsi(String)
    /// CDMA: the 32-bit ESN, its four bytes most significant first.
    case esn(UInt32)

    public var isLegacy: Bool {
        if case .sharedSecret = self { return false }
        return true
    }

    /// The bytes the HMAC key is made of (an IMSI or ESN is no secret, but is the key all the same).
    public var key: SecretBytes {
        switch self {
        case .sharedSecret(let secret): return secret
        case .esn(let esn): return SecretBytes([UInt8(esn >> 24), UInt8((esn >> 16) & 0xFF), UInt8((esn >> 8) & 0xFF), UInt8(esn & 0xFF)])
        case .imsi(let digits):
            var nibbles = (digits.count % 2 == 1 ? "9" : "1") + digits
            if digits.count % 2 == 0 { nibbles += "F" }
            let characters = Array(nibbles)
            return SecretBytes(stride(from: 0, to: characters.count, by: 2).map { index in
                UInt8(String([characters[index + 1], characters[index]]), radix: 16)!
            })
        }
    }

    /// An IMSI of 6 to 15 digits.
    public static func parseIMSI(_ text: String) throws -> NetworkID {
        guard (6...15).contains(text.count), text.allSatisfy(\.isNumber) else { throw PushError.invalidIMSI(text) }
        return .imsi(text)
    }

    /// An ESN as 8 hex digits or as its 11-digit decimal form (3 manufacturer + 8 serial digits).
    public static func parseESN(_ text: String) throws -> NetworkID {
        if text.count == 8, let value = UInt32(text, radix: 16) { return .esn(value) }
        if text.count == 11, text.allSatisfy(\.isNumber), let maker = UInt32(text.prefix(3)), let serial = UInt32(text.suffix(8)),
           maker < 256, serial < (1 << 24) {
            return .esn(maker << 24 | serial)
        }
        throw PushError.invalidESN(text)
    }
}

/// Signs and checks pushed bootstraps: HMAC-SHA1 over the WBXML body.
public enum PushAuthenticator {
    public static func digest(body: [UInt8], secret: PushSecret) throws -> [UInt8] {
        try MAC.hmac(.sha1, key: secret.key, message: body)
    }

    /// The Content-Type a sender attaches to `body`.
    public static func contentType(body: [UInt8], secret: PushSecret, keyType: PushContentType.KeyType) throws -> PushContentType {
        PushContentType(keyType: keyType, digest: try digest(body: body, secret: secret))
    }

    /// Checks the body against the Content-Type in constant time. A legacy
    /// NETWORKID (IMSI or ESN alone) is refused unless `allowLegacyNetworkID`.
    public static func verify(body: [UInt8], contentType: PushContentType, secret: PushSecret,
                              allowLegacyNetworkID: Bool) throws {
        if let expected = secret.keyType, expected != contentType.keyType {
            throw PushError.keyTypeMismatch(message: "\(contentType.keyType)", secret: "\(expected)")
        }
        if secret.isLegacyNetworkIDOnly && !allowLegacyNetworkID { throw PushError.legacyNetworkIDRefused }
        guard Secure.constantTimeEquals(try digest(body: body, secret: secret), contentType.digest) else {
            throw PushError.digestMismatch
        }
    }
}

public enum PushError: Error, Equatable, CustomStringConvertible {
    case wrongMIMEType(String)
    case missingKeyType
    case invalidKeyType(String)
    case missingDigest
    case digestLength(Int)
    case digestNotHex(String)
    case extraFields(Int)
    case invalidIMSI(String)
    case invalidESN(String)
    case keyTypeMismatch(message: String, secret: String)
    case legacyNetworkIDRefused
    case digestMismatch
    case missingSecret(String)

    public var description: String {
        switch self {
        case .wrongMIMEType(let found):
            return "Content-Type must start with \(PushContentType.mimeType); found \"\(found)\" (XML bootstraps cannot be pushed)"
        case .missingKeyType: return "Content-Type has no key type after the MIME type (NETWORKID, USERPIN, USERPIN_NETWORKID or another)"
        case .invalidKeyType(let type): return "Content-Type key type \"\(type)\" has characters outside visible ASCII (21-7E)"
        case .missingDigest: return "Content-Type has no HMAC digest after the key type"
        case .digestLength(let count): return "Content-Type digest has \(count) characters; an HMAC-SHA1 digest is 40 hex digits"
        case .digestNotHex(let digest): return "Content-Type digest \"\(digest)\" is not hex"
        case .extraFields(let count): return "Content-Type has \(count) field(s) after the digest; the ABNF allows none"
        case .invalidIMSI(let text): return "\"\(text)\" is not an IMSI (6 to 15 digits)"
        case .invalidESN(let text): return "\"\(text)\" is not an ESN (8 hex digits, or 11 decimal digits)"
        case .keyTypeMismatch(let message, let secret):
            return "the message says its key type is \(message), but the secret given is a \(secret)"
        case .legacyNetworkIDRefused:
            return "the NETWORKID is an IMSI or ESN alone, which is not a secret: anyone who knows it can forge a bootstrap; refused (allow it with --allow-legacy-network-id or allowLegacyNetworkID in the policy)"
        case .digestMismatch:
            return "the bootstrap's HMAC does not verify: the body was altered, or the PIN/NETWORKID is not the one it was sent with; nothing was installed"
        case .missingSecret(let what): return "no \(what) was given (a file option or its environment variable)"
        }
    }
}
