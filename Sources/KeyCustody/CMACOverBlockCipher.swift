import CardCrypto

/// AES-CMAC (NIST SP 800-38B) computed from single AES block encryptions,
/// for tokens that offer AES-ECB but not CKM_AES_CMAC. The key stays in the
/// token; host memory holds only the subkeys K1/K2 and the chaining value,
/// all wiped before returning.
enum CMACOverBlockCipher {
    static func compute(_ message: [UInt8], encryptBlock: ([UInt8]) throws -> [UInt8]) throws -> [UInt8] {
        var l = try encryptBlock([UInt8](repeating: 0, count: 16))
        var k1 = double(l)
        var k2 = double(k1)
        defer {
            Secure.wipe(&l)
            Secure.wipe(&k1)
            Secure.wipe(&k2)
        }
        let blockCount = max(1, (message.count + 15) / 16)
        let lastComplete = !message.isEmpty && message.count % 16 == 0
        var last = Array(message[((blockCount - 1) * 16)...])
        if lastComplete {
            last = zip(last, k1).map { $0 ^ $1 }
        } else {
            last.append(0x80)
            last += [UInt8](repeating: 0, count: 16 - last.count)
            last = zip(last, k2).map { $0 ^ $1 }
        }
        var chain = [UInt8](repeating: 0, count: 16)
        defer { Secure.wipe(&chain) }
        for index in 0..<(blockCount - 1) {
            let block = message[(index * 16)..<(index * 16 + 16)]
            chain = try encryptBlock(zip(chain, block).map { $0 ^ $1 })
        }
        return try encryptBlock(zip(chain, last).map { $0 ^ $1 })
    }

    /// Multiplication by x in GF(2^128) (SP 800-38B 6.1: shift left, and
    /// XOR Rb = 0x87 into the last byte when the top bit falls off).
    static func double(_ block: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 {
            let carry: UInt8 = index < 15 ? block[index + 1] >> 7 : 0
            result[index] = (block[index] << 1) | carry
        }
        if block[0] & 0x80 != 0 { result[15] ^= 0x87 }
        return result
    }
}
