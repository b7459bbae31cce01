import CardCrypto

/// The SCP03 key derivation (GP Amendment D 4.1.5): NIST SP 800-108 in
/// counter mode with AES-CMAC as the PRF. The counter byte sits in the
/// middle of the input, after the label, the constant, the separator and L:
/// `00×11 ‖ constant ‖ 00 ‖ L(16 bits) ‖ i ‖ context`.
public enum SCP03KDF {
    public enum Constant: UInt8 {
        case cardCryptogram = 0x00
        case hostCryptogram = 0x01
        case cardChallenge = 0x02
        case sessionEncryption = 0x04
        case sessionMAC = 0x06
        case sessionResponseMAC = 0x07
    }

    public static func derive(key: SecretBytes, constant: Constant, context: [UInt8], bits: Int) throws -> [UInt8] {
        try derive(key: key, constant: constant.rawValue, context: context, bits: bits)
    }

    public static func derive(key: SecretBytes, constant: UInt8, context: [UInt8], bits: Int) throws -> [UInt8] {
        try derive(prf: HostCMACKey(key), constant: constant, context: context, bits: bits)
    }

    /// The KDF with the static key behind `prf`, which may be a token that
    /// computes the CMACs without ever handing the key out.
    public static func derive(prf: CMACKey, constant: UInt8, context: [UInt8], bits: Int) throws -> [UInt8] {
        precondition(bits > 0 && bits % 8 == 0 && bits <= 0xFFFF, "L must be a whole number of bytes")
        let blocks = (bits + 127) / 128
        // Blocks of session keys pass through these temporaries: each is wiped.
        var output = [UInt8]()
        output.reserveCapacity(blocks * 16)
        defer { Secure.wipe(&output) }
        for counter in 1...blocks {
            var input = [UInt8](repeating: 0, count: 11)
            input += [constant, 0x00, UInt8(bits >> 8), UInt8(bits & 0xFF), UInt8(counter)]
            input += context
            var block = try prf.cmac(input)
            output += block
            Secure.wipe(&block)
        }
        return Array(output.prefix(bits / 8))
    }
}
