import COpenSSL
import CardCrypto

/// An RSA key from PEM, for wrapping and unwrapping the MCIM keys with OAEP.
final class RSAKey {
    let key: OpaquePointer

    init(pem: [UInt8], isPrivate: Bool) throws {
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        defer { BIO_free(bio) }
        let parsed = isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        guard let parsed, EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            throw MCIMError.invalidKey(isPrivate ? "not an RSA private key in PEM" : "not an RSA public key in PEM")
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// Modulus size in bytes: the length of every OAEP block.
    var size: Int { Int(EVP_PKEY_get_size(key)) }

    func encrypt(_ plain: [UInt8]) throws -> [UInt8] {
        try crypt(plain, encrypting: true)
    }

    func decrypt(_ cipher: [UInt8]) throws -> [UInt8] {
        try crypt(cipher, encrypting: false)
    }

    /// RSA-OAEP with SHA-256 for the hash and MGF1, no label.
    private func crypt(_ input: [UInt8], encrypting: Bool) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw MCIMError.cryptoFailure("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard (encrypting ? EVP_PKEY_encrypt_init(context) : EVP_PKEY_decrypt_init(context)) == 1,
              EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) == 1,
              EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1 else {
            throw MCIMError.cryptoFailure("RSA-OAEP setup")
        }
        var length = size
        var output = [UInt8](repeating: 0, count: length)
        let status = encrypting
            ? EVP_PKEY_encrypt(context, &output, &length, input, input.count)
            : EVP_PKEY_decrypt(context, &output, &length, input, input.count)
        guard status == 1 else {
            ERR_clear_error()
            throw encrypting ? MCIMError.cryptoFailure("RSA-OAEP encryption") : MCIMError.unwrapFailed
        }
        return Array(output.prefix(length))
    }
}
