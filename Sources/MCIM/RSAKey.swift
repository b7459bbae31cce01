import CardCrypto

/// The device's RSA key as MCIM uses it (CardCrypto's RSA-OAEP), with
/// OpenSSL's refusals told as MCIM errors.
struct RSAKey {
    private let key: RSAOAEPKey

    init(pem: [UInt8], isPrivate: Bool) throws {
        do {
            key = try RSAOAEPKey(pem: pem, isPrivate: isPrivate)
        } catch let error as RSAKeyError {
            throw MCIMError.invalidKey(error.description)
        }
    }

    var size: Int { key.size }

    func encrypt(_ plain: [UInt8]) throws -> [UInt8] {
        do {
            return try key.encrypt(plain)
        } catch let error as CryptoError {
            throw MCIMError.cryptoFailure("\(error)")
        }
    }

    func decrypt(_ cipher: [UInt8]) throws -> [UInt8] {
        do {
            return try key.decrypt(cipher)
        } catch RSAKeyError.decryptionFailed {
            throw MCIMError.unwrapFailed
        } catch let error as CryptoError {
            throw MCIMError.cryptoFailure("\(error)")
        }
    }
}
