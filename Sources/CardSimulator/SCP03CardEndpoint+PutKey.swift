import APDU
import CardCrypto
import SecureChannel

extension SCP03CardEndpoint {
    /// PUT KEY of a whole SCP03 key set (GlobalPlatform Card Specification
    /// v2.3 11.8), already opened from its secure messaging: each key is
    /// decrypted with the current static DEK and checked against its KCV
    /// (Amendment D 7.2.2) before anything changes, so the card holds either
    /// its old key set or the new one. P1 is 00 (add) or the current version
    /// (replace); this security domain keeps one key set, so both leave only
    /// the new one. The answer is the new version and the three KCVs.
    func putKey(_ command: CommandAPDU) -> (ResponseAPDU, SCP03Keys?) {
        guard command.p1 == 0x00 || command.p1 == configuration.keys.version else {
            return (ResponseAPDU(status: StatusWord(0x6A88)), nil)
        }
        guard command.p2 == 0x81, let version = command.data.first, version != 0x00, version != 0xFF else {
            return (ResponseAPDU(status: StatusWord(0x6A86)), nil)
        }
        var rest = command.data.dropFirst()
        var keys: [SecretBytes] = []
        var checks: [UInt8] = []
        for _ in StaticKeyRole.allCases {
            guard let (key, check) = component(&rest) else { return (ResponseAPDU(status: StatusWord(0x6A80)), nil) }
            keys.append(key)
            checks += check
        }
        guard rest.isEmpty, let newKeys = try? SCP03Keys(version: version, enc: keys[0], mac: keys[1], dek: keys[2]) else {
            return (ResponseAPDU(status: StatusWord(0x6A80)), nil)
        }
        return (ResponseAPDU(data: [version] + checks, status: .success), newKeys)
    }

    /// Adopts a key set PUT KEY installed on this card (through any channel's endpoint).
    func adopt(_ keys: SCP03Keys) {
        configuration.keys = keys
    }

    /// One key component: 88, length, key length, AES-CBC(DEK) of the key, KCV length, KCV.
    private func component(_ data: inout ArraySlice<UInt8>) -> (SecretBytes, [UInt8])? {
        guard data.count >= 3, data[data.startIndex] == 0x88 else { return nil }
        let length = Int(data[data.startIndex + 1]), keyLength = Int(data[data.startIndex + 2])
        guard [16, 24, 32].contains(keyLength), length >= 1 + keyLength, (length - 1) % 16 == 0,
              data.count >= 2 + length + 1 else { return nil }
        let encrypted = Array(data[(data.startIndex + 3)..<(data.startIndex + 2 + length)])
        data = data.dropFirst(2 + length)
        let checkLength = Int(data[data.startIndex])
        guard checkLength == 3, data.count >= 1 + checkLength else { return nil }
        let check = Array(data[(data.startIndex + 1)...(data.startIndex + checkLength)])
        data = data.dropFirst(1 + checkLength)
        guard var plain = try? AES.decrypt(encrypted, key: configuration.keys.dek, mode: .cbc, iv: [UInt8](repeating: 0, count: 16)) else {
            return nil
        }
        defer { Secure.wipe(&plain) }
        let key = SecretBytes(plain.prefix(keyLength))
        guard let computed = try? KeyCheckValue.aes(key), Secure.constantTimeEquals(computed, check) else { return nil }
        return (key, computed)
    }
}
