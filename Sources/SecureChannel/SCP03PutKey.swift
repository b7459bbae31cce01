import APDU
import CardCrypto

/// PUT KEY for an SCP03 key set (GlobalPlatform Card Specification v2.3
/// 11.8; Amendment D 7.2.2 for the key check value), encoded as
/// GlobalPlatformPro's GPSession.putKeys and encodeKey send it: CLA 80,
/// INS D8, P1 the version of the key set replaced (00 adds one), P2 81 (key
/// identifier 1, several keys), then the new key version and, for ENC, MAC
/// and DEK in turn, a key component: type 88 (AES), length, the key's
/// length, the key encrypted with AES-CBC under the card's current static
/// DEK with a zero IV (SCP03 has no session DEK: GlobalPlatformPro's
/// PlaintextKeys.encryptKey uses the card DEK), then 03 and the key's KCV.
/// The card answers the new version and the three KCVs.
public enum SCP03PutKey {
    public static let instruction: UInt8 = 0xD8

    public static func command(newKeys: SCP03Keys, replacing oldVersion: UInt8, dek: SecretBytes) throws -> CommandAPDU {
        var data: [UInt8] = [newKeys.version]
        for role in StaticKeyRole.allCases {
            data += try component(newKeys.key(role), dek: dek)
        }
        return CommandAPDU(cla: 0x80, ins: instruction, p1: oldVersion, p2: 0x81, data: data, expectedLength: 256)
    }

    /// What the card answers when it took `newKeys`: their version and the three KCVs.
    public static func expectedResponse(_ newKeys: SCP03Keys) throws -> [UInt8] {
        try [newKeys.version] + StaticKeyRole.allCases.flatMap { try KeyCheckValue.aes(newKeys.key($0)) }
    }

    /// One key component. A 24-byte key is padded with random bytes to whole
    /// AES blocks; the length byte tells the card where the key ends.
    static func component(_ key: SecretBytes, dek: SecretBytes) throws -> [UInt8] {
        var plain = key.exposedCopy()
        defer { Secure.wipe(&plain) }
        if plain.count % 16 != 0 { plain += try Secure.randomBytes(16 - plain.count % 16) }
        let encrypted = try AES.encrypt(plain, key: dek, mode: .cbc, iv: [UInt8](repeating: 0, count: 16))
        let check = try KeyCheckValue.aes(key)
        return [0x88, UInt8(encrypted.count + 1), UInt8(key.count)] + encrypted + [UInt8(check.count)] + check
    }
}
