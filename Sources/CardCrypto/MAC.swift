import COpenSSL

/// Message authentication codes through OpenSSL 3's EVP_MAC interface.
public enum MAC {
    /// AES-CMAC (NIST SP 800-38B, RFC 4493) with a 128, 192 or 256-bit key.
    public static func cmac(key: SecretBytes, message: [UInt8]) throws -> [UInt8] {
        let cipherName: String
        switch key.count {
        case 16: cipherName = "AES-128-CBC"
        case 24: cipherName = "AES-192-CBC"
        case 32: cipherName = "AES-256-CBC"
        default: throw CryptoError.invalidKeyLength(key.count)
        }
        return try compute(algorithm: "CMAC", parameterName: OSSL_MAC_PARAM_CIPHER, parameterValue: cipherName,
                           key: key, message: message)
    }

    public enum Digest: String, Sendable {
        case md5 = "MD5", sha1 = "SHA1", sha256 = "SHA256"
    }

    /// HMAC (RFC 2104) over `message`.
    public static func hmac(_ digest: Digest, key: SecretBytes, message: [UInt8]) throws -> [UInt8] {
        try compute(algorithm: "HMAC", parameterName: OSSL_MAC_PARAM_DIGEST, parameterValue: digest.rawValue,
                    key: key, message: message)
    }

    private static func compute(algorithm: String, parameterName: String, parameterValue: String,
                                key: SecretBytes, message: [UInt8]) throws -> [UInt8] {
        guard let mac = EVP_MAC_fetch(nil, algorithm, nil) else { throw CryptoError.openSSL("EVP_MAC_fetch(\(algorithm))") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw CryptoError.openSSL("EVP_MAC_CTX_new") }
        defer { EVP_MAC_CTX_free(context) }
        let initialised: Int32 = parameterName.withCString { name in
            parameterValue.withCString { value in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: value), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withBytes { keyBytes in
                    EVP_MAC_init(context, keyBytes.baseAddress, keyBytes.count, &params)
                }
            }
        }
        guard initialised == 1 else { throw CryptoError.openSSL("EVP_MAC_init(\(algorithm))") }
        guard EVP_MAC_update(context, message, message.count) == 1 else { throw CryptoError.openSSL("EVP_MAC_update") }
        // A MAC is key material when it serves as a KDF's PRF: the buffer is wiped.
        var output = [UInt8](repeating: 0, count: 64)
        defer { Secure.wipe(&output) }
        var length = 0
        guard EVP_MAC_final(context, &output, &length, output.count) == 1 else { throw CryptoError.openSSL("EVP_MAC_final") }
        return Array(output.prefix(length))
    }
}

/// Message digests through EVP_Digest.
public enum Hash {
    public static func digest(_ algorithm: MAC.Digest, _ message: [UInt8]) throws -> [UInt8] {
        guard let md = EVP_MD_fetch(nil, algorithm.rawValue, nil) else { throw CryptoError.openSSL("EVP_MD_fetch") }
        defer { EVP_MD_free(md) }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_Digest(message, message.count, &output, &length, md, nil) == 1 else {
            throw CryptoError.openSSL("EVP_Digest")
        }
        return Array(output.prefix(Int(length)))
    }
}
