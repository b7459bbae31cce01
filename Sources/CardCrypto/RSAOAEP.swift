import COpenSSL

/// An RSA key read from PEM, for RSA-OAEP with SHA-256 (hash and MGF1) and no
/// label. The OpenSSL key is freed with this object, and on every path
/// where it is refused.
public final class RSAOAEPKey {
    private let key: OpaquePointer

    public init(pem: [UInt8], isPrivate: Bool) throws {
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw CryptoError.openSSL("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        guard let parsed = isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw RSAKeyError.notRSA(isPrivate: isPrivate)
        }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            EVP_PKEY_free(parsed)
            throw RSAKeyError.notRSA(isPrivate: isPrivate)
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// Modulus size in bytes: the length of every OAEP block.
    public var size: Int { Int(EVP_PKEY_get_size(key)) }

    public func encrypt(_ plain: [UInt8]) throws -> [UInt8] {
        try crypt(plain, encrypting: true)
    }

    /// Throws `RSAKeyError.decryptionFailed` for a block this key did not
    /// wrap, without saying why (OAEP padding oracles).
    public func decrypt(_ cipher: [UInt8]) throws -> [UInt8] {
        try crypt(cipher, encrypting: false)
    }

    private func crypt(_ input: [UInt8], encrypting: Bool) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.openSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard (encrypting ? EVP_PKEY_encrypt_init(context) : EVP_PKEY_decrypt_init(context)) == 1,
              EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) == 1,
              EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1 else {
            throw CryptoError.openSSL("RSA-OAEP setup")
        }
        var length = size
        var output = [UInt8](repeating: 0, count: length)
        let status = encrypting
            ? EVP_PKEY_encrypt(context, &output, &length, input, input.count)
            : EVP_PKEY_decrypt(context, &output, &length, input, input.count)
        guard status == 1 else {
            if encrypting { throw CryptoError.openSSL("EVP_PKEY_encrypt") }
            ERR_clear_error()
            Secure.wipe(&output)
            throw RSAKeyError.decryptionFailed
        }
        return Array(output.prefix(length))
    }
}

public enum RSAKeyError: Error, Equatable, CustomStringConvertible {
    case notRSA(isPrivate: Bool)
    case decryptionFailed

    public var description: String {
        switch self {
        case .notRSA(let isPrivate): return isPrivate ? "not an RSA private key in PEM" : "not an RSA public key in PEM"
        case .decryptionFailed: return "the RSA-OAEP block does not open with this key"
        }
    }
}
