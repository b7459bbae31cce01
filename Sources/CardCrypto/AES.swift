import COpenSSL

/// AES block operations without padding: SCP03 pads by hand (ISO 9797-1
/// method 2) and must see every byte, so OpenSSL's padding is always off.
public enum AES {
    public enum Mode { case ecb, cbc }

    public static func encrypt(_ data: [UInt8], key: SecretBytes, mode: Mode, iv: [UInt8] = []) throws -> [UInt8] {
        try crypt(data, key: key, mode: mode, iv: iv, encrypt: true)
    }

    public static func decrypt(_ data: [UInt8], key: SecretBytes, mode: Mode, iv: [UInt8] = []) throws -> [UInt8] {
        try crypt(data, key: key, mode: mode, iv: iv, encrypt: false)
    }

    static func cipher(keyLength: Int, mode: Mode) throws -> OpaquePointer {
        let cipher: OpaquePointer?
        switch (keyLength, mode) {
        case (16, .ecb): cipher = EVP_aes_128_ecb()
        case (24, .ecb): cipher = EVP_aes_192_ecb()
        case (32, .ecb): cipher = EVP_aes_256_ecb()
        case (16, .cbc): cipher = EVP_aes_128_cbc()
        case (24, .cbc): cipher = EVP_aes_192_cbc()
        case (32, .cbc): cipher = EVP_aes_256_cbc()
        default: throw CryptoError.invalidKeyLength(keyLength)
        }
        guard let cipher else { throw CryptoError.openSSL("EVP_aes") }
        return cipher
    }

    private static func crypt(_ data: [UInt8], key: SecretBytes, mode: Mode, iv: [UInt8], encrypt: Bool) throws -> [UInt8] {
        guard data.count % 16 == 0 else { throw CryptoError.notBlockAligned(data.count) }
        // OpenSSL reads 16 IV bytes from the pointer whatever the array holds.
        guard iv.count == (mode == .cbc ? 16 : 0) else { throw CryptoError.invalidIVLength(iv.count) }
        let cipher = try cipher(keyLength: key.count, mode: mode)
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let initialised = key.withBytes { keyBytes in
            EVP_CipherInit_ex(context, cipher, nil, keyBytes.baseAddress, mode == .cbc ? iv : nil, encrypt ? 1 : 0)
        }
        guard initialised == 1 else { throw CryptoError.openSSL("EVP_CipherInit_ex") }
        EVP_CIPHER_CTX_set_padding(context, 0)
        var output = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        guard EVP_CipherUpdate(context, &output, &written, data, Int32(data.count)) == 1 else {
            throw CryptoError.openSSL("EVP_CipherUpdate")
        }
        var finalWritten: Int32 = 0
        let total = Int(written)
        let finished = output.withUnsafeMutableBufferPointer { buffer in
            EVP_CipherFinal_ex(context, buffer.baseAddress! + total, &finalWritten)
        }
        guard finished == 1 else { throw CryptoError.openSSL("EVP_CipherFinal_ex") }
        return Array(output.prefix(total + Int(finalWritten)))
    }
}
