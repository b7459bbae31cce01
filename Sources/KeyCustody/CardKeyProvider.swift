import APDU
import CardCrypto
import SecureChannel

/// One card's static keys as the SCP03 session derivation uses them: things
/// that compute CMACs. Diversified and table keys are in host memory for
/// this one card (wiped by `wipe`); a token's static key stays in the token.
public struct CardStaticKeys: Sendable {
    public let version: UInt8
    public let enc: CMACKey
    public let mac: CMACKey
    private let hostKeys: SCP03Keys?

    public init(hostKeys: SCP03Keys) throws {
        version = hostKeys.version
        enc = try HostCMACKey(hostKeys.enc)
        mac = try HostCMACKey(hostKeys.mac)
        self.hostKeys = hostKeys
    }

    init(token key: PKCS11SecretKey, version: UInt8) {
        self.version = version
        enc = key
        mac = key
        hostKeys = nil
    }

    public var bits: Int { enc.length * 8 }

    /// The card's keys when they are in host memory, for the key check values.
    public var keysInHostMemory: SCP03Keys? { hostKeys }

    /// S-ENC, S-MAC and S-RMAC (GP Amendment D 6.2.1) for one session.
    public func sessionKeys(hostChallenge: [UInt8], cardChallenge: [UInt8]) throws -> SCP03SessionKeys {
        let context = hostChallenge + cardChallenge
        func derive(_ prf: CMACKey, _ constant: SCP03KDF.Constant) throws -> SecretBytes {
            var derived = try SCP03KDF.derive(prf: prf, constant: constant.rawValue, context: context, bits: bits)
            return SecretBytes(wiping: &derived)
        }
        return SCP03SessionKeys(enc: try derive(enc, .sessionEncryption), mac: try derive(mac, .sessionMAC),
                                rmac: try derive(mac, .sessionResponseMAC))
    }

    /// Forgets the per-card keys held in host memory.
    public func wipe() {
        hostKeys?.wipe()
    }
}

/// Where a command's SCP03 keys come from, resolved once before any card is
/// touched (so a missing token, a wrong PIN or a malformed table fails
/// first), and asked for each card after its INITIALIZE UPDATE.
public struct CardKeyProvider: SCP03KeySource {
    public enum Source: Sendable {
        /// Keys in host memory: a key file, flags or the environment.
        case host(SCP03Keys)
        /// One AES key in a PKCS#11 token, the static key for ENC, MAC and DEK
        /// alike or, with diversification, the master key.
        case token(PKCS11SecretKey, version: UInt8)
        /// A per-card key table, its key columns optionally encrypted under a
        /// key-encryption key in a token.
        case table(KeyTable, keyEncryptionKey: PKCS11SecretKey?)
    }

    public enum Diversification: String, Sendable, CaseIterable {
        /// GlobalPlatformPro's KDF3 (see `KDF3`).
        case kdf3
    }

    public let source: Source
    public let diversification: Diversification?

    public init(source: Source, diversification: Diversification?) throws {
        if case .table = source, diversification != nil { throw CardKeyProviderError.tableCannotBeDiversified }
        self.source = source
        self.diversification = diversification
    }

    /// The key version to ask for in INITIALIZE UPDATE (00: whatever the card has).
    public var requestedKeyVersion: UInt8 {
        switch source {
        case .host(let keys): return keys.version
        case .token(_, let version): return version
        case .table: return 0x00
        }
    }

    /// The session keys: the card's static keys are found (diversified,
    /// looked up), used for the KDF and, where they are in host memory,
    /// wiped at once. Nothing here talks to the card: a failure leaves the
    /// session before EXTERNAL AUTHENTICATE.
    public func sessionKeys(for request: SCP03KeyRequest) throws -> SCP03SessionKeys {
        let keys = try self.keys(kdd: request.keyDiversificationData, iccid: request.cardIdentity?.iccid)
        defer { keys.wipe() }
        return try keys.sessionKeys(hostChallenge: request.hostChallenge, cardChallenge: request.cardChallenge)
    }

    /// KDF(Key-ENC, 02, sequence counter ‖ AID), with the card's own Key-ENC.
    public func pseudoRandomCardChallenge(for request: SCP03KeyRequest, applicationID: [UInt8]) throws -> [UInt8]? {
        guard let sequence = request.sequenceCounter else { return nil }
        let keys = try self.keys(kdd: request.keyDiversificationData, iccid: request.cardIdentity?.iccid)
        defer { keys.wipe() }
        return try SCP03Cryptograms.pseudoRandomCardChallenge(prf: keys.enc, sequenceCounter: sequence,
                                                              applicationID: applicationID, mode: request.mode)
    }

    /// One card's static keys, by its key diversification data and (for a
    /// table keyed by ICCID) its ICCID. The caller wipes them.
    public func keys(kdd: [UInt8], iccid: String?) throws -> CardStaticKeys {
        switch (source, diversification) {
        case (.host(let keys), nil):
            return try CardStaticKeys(hostKeys: keys.copy())
        case (.host(let masters), .kdf3?):
            return try CardStaticKeys(hostKeys: KDF3.diversify(masters: masters, kdd: kdd))
        case (.token(let key, let version), nil):
            return CardStaticKeys(token: key, version: version)
        case (.token(let master, let version), .kdf3?):
            return try CardStaticKeys(hostKeys: KDF3.diversify(master: master, kdd: kdd, version: version))
        case (.table(let table, let keyEncryptionKey), _):
            let decrypt = keyEncryptionKey.map { key in { (data: [UInt8]) in try key.decryptCBC(data, iv: KeyTable.columnIV) } }
            return try CardStaticKeys(hostKeys: table.keys(iccid: iccid, kdd: kdd, decrypt: decrypt))
        }
    }
}

public enum CardKeyProviderError: Error, Equatable, CustomStringConvertible {
    case tableCannotBeDiversified

    public var description: String {
        switch self {
        case .tableCannotBeDiversified:
            return "a key table already holds each card's own keys: --diversify does not apply to it"
        }
    }
}
