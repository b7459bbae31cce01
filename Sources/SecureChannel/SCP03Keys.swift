import CardCrypto

/// The static keys a card and a device share (Key-ENC, Key-MAC, Key-DEK) and
/// the key version number that names them on the card.
public struct SCP03Keys: Sendable {
    public let version: UInt8
    public let enc: SecretBytes
    public let mac: SecretBytes
    public let dek: SecretBytes

    public init(version: UInt8, enc: SecretBytes, mac: SecretBytes, dek: SecretBytes) throws {
        for (name, key) in [("enc", enc), ("mac", mac), ("dek", dek)] {
            guard [16, 24, 32].contains(key.count) else {
                throw SecureChannelError.invalidKey(name: name, length: key.count)
            }
        }
        guard enc.count == mac.count else {
            throw SecureChannelError.mixedKeyLengths(enc: enc.count, mac: mac.count)
        }
        self.init(checked: version, enc: enc, mac: mac, dek: dek)
    }

    /// For keys whose lengths are known good where they are written.
    private init(checked version: UInt8, enc: SecretBytes, mac: SecretBytes, dek: SecretBytes) {
        self.version = version
        self.enc = enc
        self.mac = mac
        self.dek = dek
    }

    public func key(_ role: StaticKeyRole) -> SecretBytes {
        switch role {
        case .enc: return enc
        case .mac: return mac
        case .dek: return dek
        }
    }

    /// An independent copy, for a user that wipes its keys after one card
    /// while the original serves the next.
    public func copy() throws -> SCP03Keys {
        func duplicate(_ key: SecretBytes) -> SecretBytes {
            var bytes = key.exposedCopy()
            defer { Secure.wipe(&bytes) }
            return SecretBytes(bytes)
        }
        return try SCP03Keys(version: version, enc: duplicate(enc), mac: duplicate(mac), dek: duplicate(dek))
    }

    /// AES key length in bits: 128, 192 or 256.
    public var bits: Int { enc.count * 8 }

    /// The GlobalPlatform default test keys 40..4F: on every development card,
    /// so never the default of a command.
    public static func globalPlatformTestKeys(version: UInt8 = 0x00) -> SCP03Keys {
        let key = (0x40...0x4F).map { UInt8($0) }
        return SCP03Keys(checked: version, enc: SecretBytes(key), mac: SecretBytes(key), dek: SecretBytes(key))
    }

    /// Overwrites the static keys. Copies made earlier by `SecretBytes` users wipe themselves.
    public func wipe() {
        enc.wipe()
        mac.wipe()
        dek.wipe()
    }
}

/// S-ENC, S-MAC and S-RMAC of one session, derived from the static keys and
/// both challenges.
public struct SCP03SessionKeys: Sendable {
    public let enc: SecretBytes
    public let mac: SecretBytes
    public let rmac: SecretBytes

    public init(enc: SecretBytes, mac: SecretBytes, rmac: SecretBytes) {
        self.enc = enc
        self.mac = mac
        self.rmac = rmac
    }

    public init(deriving keys: SCP03Keys, hostChallenge: [UInt8], cardChallenge: [UInt8]) throws {
        let context = hostChallenge + cardChallenge
        var derived = try SCP03KDF.derive(key: keys.enc, constant: .sessionEncryption, context: context, bits: keys.bits)
        enc = SecretBytes(wiping: &derived)
        derived = try SCP03KDF.derive(key: keys.mac, constant: .sessionMAC, context: context, bits: keys.bits)
        mac = SecretBytes(wiping: &derived)
        derived = try SCP03KDF.derive(key: keys.mac, constant: .sessionResponseMAC, context: context, bits: keys.bits)
        rmac = SecretBytes(wiping: &derived)
    }

    public func wipe() {
        enc.wipe()
        mac.wipe()
        rmac.wipe()
    }
}
