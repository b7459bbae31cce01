import CardCrypto

/// The three static keys of an SCP03 key set, named as diversification
/// schemes and vendor key sheets name them.
public enum StaticKeyRole: String, CaseIterable, Sendable {
    case enc = "ENC", mac = "MAC", dek = "DEK"
}

/// An AES key that can compute AES-CMAC without handing its value over: a
/// key in host memory, or a key inside a PKCS#11 token. Diversification and
/// the SCP03 KDF only ever need CMACs of the master or static key, which is
/// what lets a token keep that key.
public protocol CMACKey: Sendable {
    /// Key length in bytes: 16, 24 or 32.
    var length: Int { get }
    func cmac(_ message: [UInt8]) throws -> [UInt8]
}

/// A CMAC key held in host memory.
public struct HostCMACKey: CMACKey {
    public let key: SecretBytes

    public init(_ key: SecretBytes) throws {
        guard [16, 24, 32].contains(key.count) else { throw CryptoError.invalidKeyLength(key.count) }
        self.key = key
    }

    public var length: Int { key.count }

    public func cmac(_ message: [UInt8]) throws -> [UInt8] {
        try MAC.cmac(key: key, message: message)
    }
}

/// Key diversification "KDF3" as GlobalPlatformPro defines it
/// (PlaintextKeys.diversify with GPCrypto.scp03_kdf): NIST SP 800-108 in
/// counter mode with AES-CMAC as the PRF and an 8-bit counter placed first,
/// block i = CMAC(master, i ‖ constant ‖ KDD) for i = 1, 2, …, truncated to
/// the master key's length. The constant is 00000001 00 (ENC), 00000002 00
/// (MAC) or 00000003 00 (DEK); the KDD is the 10 bytes that open the card's
/// INITIALIZE UPDATE response. Unlike the session KDF there is no label and
/// no L field, so the two must not share code paths that would hide that.
public enum KDF3 {
    public static let kddLength = 10

    public static func constant(_ role: StaticKeyRole) -> [UInt8] {
        switch role {
        case .enc: return [0x00, 0x00, 0x00, 0x01, 0x00]
        case .mac: return [0x00, 0x00, 0x00, 0x02, 0x00]
        case .dek: return [0x00, 0x00, 0x00, 0x03, 0x00]
        }
    }

    /// One card key from `master`, as many bytes as the master key.
    public static func derive(master: CMACKey, role: StaticKeyRole, kdd: [UInt8]) throws -> SecretBytes {
        guard kdd.count == kddLength else { throw DiversificationError.kddLength(kdd.count) }
        var output: [UInt8] = []
        defer { Secure.wipe(&output) }
        var counter: UInt8 = 1
        while output.count < master.length {
            var block = try master.cmac([counter] + constant(role) + kdd)
            output += block
            Secure.wipe(&block)
            counter += 1
        }
        return SecretBytes(output.prefix(master.length))
    }

    /// The card's static key set from three master keys, each diversified
    /// with its own role's constant (GlobalPlatformPro does the same when it
    /// is given ENC, MAC and DEK instead of one master key).
    public static func diversify(masters: SCP03Keys, kdd: [UInt8]) throws -> SCP03Keys {
        try SCP03Keys(version: masters.version,
                      enc: derive(master: HostCMACKey(masters.enc), role: .enc, kdd: kdd),
                      mac: derive(master: HostCMACKey(masters.mac), role: .mac, kdd: kdd),
                      dek: derive(master: HostCMACKey(masters.dek), role: .dek, kdd: kdd))
    }

    /// The card's static key set: ENC, MAC and DEK each diversified from the one master key.
    public static func diversify(master: CMACKey, kdd: [UInt8], version: UInt8) throws -> SCP03Keys {
        try SCP03Keys(version: version, enc: derive(master: master, role: .enc, kdd: kdd),
                      mac: derive(master: master, role: .mac, kdd: kdd),
                      dek: derive(master: master, role: .dek, kdd: kdd))
    }
}

public enum DiversificationError: Error, Equatable, CustomStringConvertible {
    case kddLength(Int)

    public var description: String {
        switch self {
        case .kddLength(let count):
            return "key diversification data is 10 bytes (the start of the INITIALIZE UPDATE response); got \(count)"
        }
    }
}

/// Key check values, which technicians compare with a vendor's key sheet
/// instead of ever looking at a key.
public enum KeyCheckValue {
    /// AES KCV (GP Amendment D): the first 3 bytes of AES-ECB(key, 16 × 01).
    public static func aes(_ key: SecretBytes) throws -> [UInt8] {
        Array(try AES.encrypt([UInt8](repeating: 0x01, count: 16), key: key, mode: .ecb).prefix(3))
    }
}

extension SCP03Cryptograms {
    /// The pseudo-random card challenge with Key-ENC behind `prf`, which may
    /// be a token (see `pseudoRandomCardChallenge(staticEncryption:...)`).
    public static func pseudoRandomCardChallenge(prf: CMACKey, sequenceCounter: [UInt8], applicationID: [UInt8],
                                                 mode: ChallengeMode) throws -> [UInt8] {
        try SCP03KDF.derive(prf: prf, constant: SCP03KDF.Constant.cardChallenge.rawValue,
                            context: sequenceCounter + applicationID, bits: mode.bits)
    }
}
