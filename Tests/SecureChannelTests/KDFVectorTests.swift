import APDU
import CardCrypto
import Foundation
import SecureChannel
import XCTest

/// The SCP03 KDF, session keys, cryptograms and pseudo-random challenges
/// against kdf_cmac.json; single wrap/unwrap steps against wrap_units.json.
final class KDFVectorTests: XCTestCase {
    struct KDFFile: Decodable {
        struct KDF: Decodable {
            let id: String, key: String, constant: String, context: String, L_bits: Int, output: String
        }
        struct Session: Decodable {
            let id: String, enc: String, mac: String
            let context: String?, host_challenge: String?, card_challenge: String?
            let s_enc: String?, s_mac: String?, s_rmac: String?
            let s_enc_kcv: String?, s_mac_kcv: String?, s_rmac_kcv: String?
            let host_cryptogram: String?, card_cryptogram: String?
        }
        struct Challenge: Decodable {
            let id: String, static_enc: String, seq: String, aid: String, card_challenge: String
        }
        let kdf: [KDF]
        let session_keys: [Session]
        let pseudo_random_card_challenge: [Challenge]
    }

    let file = try! JSONDecoder().decode(KDFFile.self, from: VectorFiles.data("kdf_cmac.json"))

    func key(_ hex: String) -> SecretBytes { SecretBytes([UInt8](hex: hex)) }

    /// Key check value: the first 3 bytes of AES(key, 16 × 01), as GPPro prints it.
    func kcv(_ key: SecretBytes) throws -> String {
        try String(AES.encrypt([UInt8](repeating: 1, count: 16), key: key, mode: .ecb).hexString.prefix(6))
    }

    func testKDFMatchesEveryVector() throws {
        XCTAssertEqual(file.kdf.count, 41)
        for vector in file.kdf {
            let output = try SCP03KDF.derive(key: key(vector.key), constant: [UInt8](hex: vector.constant)[0],
                                             context: [UInt8](hex: vector.context), bits: vector.L_bits)
            XCTAssertEqual(output.hexString, vector.output, vector.id)
        }
    }

    func testSessionKeysAndCryptogramsMatchEveryVector() throws {
        for vector in file.session_keys {
            let context = vector.context.map { [UInt8](hex: $0) }
            let host = vector.host_challenge.map { [UInt8](hex: $0) } ?? context ?? []
            let card = vector.card_challenge.map { [UInt8](hex: $0) } ?? []
            let statics = try SCP03Keys(version: 0, enc: key(vector.enc), mac: key(vector.mac), dek: key(vector.enc))
            let session = try SCP03SessionKeys(deriving: statics, hostChallenge: host, cardChallenge: card)
            if let expected = vector.s_enc { XCTAssertEqual(session.enc.exposedCopy().hexString, expected, vector.id) }
            if let expected = vector.s_mac { XCTAssertEqual(session.mac.exposedCopy().hexString, expected, vector.id) }
            if let expected = vector.s_rmac { XCTAssertEqual(session.rmac.exposedCopy().hexString, expected, vector.id) }
            if let expected = vector.s_enc_kcv { XCTAssertEqual(try kcv(session.enc), expected, vector.id) }
            if let expected = vector.s_mac_kcv { XCTAssertEqual(try kcv(session.mac), expected, vector.id) }
            if let expected = vector.s_rmac_kcv { XCTAssertEqual(try kcv(session.rmac), expected, vector.id) }
            if let expected = vector.host_cryptogram {
                XCTAssertEqual(try SCP03Cryptograms.host(sessionMAC: session.mac, hostChallenge: host, cardChallenge: card,
                                                         mode: .s8).hexString, expected, vector.id)
            }
            if let expected = vector.card_cryptogram {
                XCTAssertEqual(try SCP03Cryptograms.card(sessionMAC: session.mac, hostChallenge: host, cardChallenge: card,
                                                         mode: .s8).hexString, expected, vector.id)
            }
        }
    }

    func testPseudoRandomChallengesMatchRealCards() throws {
        XCTAssertEqual(file.pseudo_random_card_challenge.count, 16)
        for vector in file.pseudo_random_card_challenge {
            let challenge = try SCP03Cryptograms.pseudoRandomCardChallenge(
                staticEncryption: key(vector.static_enc), sequenceCounter: [UInt8](hex: vector.seq),
                applicationID: [UInt8](hex: vector.aid), mode: .s8)
            XCTAssertEqual(challenge.hexString, vector.card_challenge, vector.id)
        }
    }
}

final class WrapUnitTests: XCTestCase {
    struct WrapFile: Decodable {
        struct Wrap: Decodable {
            let id: String, s_mac: String, s_enc: String?, level: String, chain: String
            let counter_before: UInt64?, commands: [[String]], chain_after: String?
        }
        struct Encrypt: Decodable { let id: String, s_enc: String, counter: UInt64, plain: String, cipher: String }
        struct Decrypt: Decodable { let id: String, s_enc: String, counter: UInt64, cipher: String, plain: String }
        struct RMAC: Decodable { let id: String, s_rmac: String, chain: String, response_data_with_rmac: String, sw: String }
        let wrap: [Wrap]
        let encrypt_data: [Encrypt]
        let decrypt_response: [Decrypt]
        let rmac: [RMAC]
    }

    let file = try! JSONDecoder().decode(WrapFile.self, from: VectorFiles.data("wrap_units.json"))
    let unused = SecretBytes([UInt8](repeating: 0x5A, count: 16))

    func protection(enc: String? = nil, mac: String? = nil, rmac: String? = nil, level: UInt8,
                    chain: String = String(repeating: "0", count: 32), counter: UInt64 = 0) throws -> SCP03MessageProtection {
        let keys = SCP03SessionKeys(enc: enc.map { SecretBytes([UInt8](hex: $0)) } ?? unused,
                               mac: mac.map { SecretBytes([UInt8](hex: $0)) } ?? unused,
                               rmac: rmac.map { SecretBytes([UInt8](hex: $0)) } ?? unused)
        return SCP03MessageProtection(keys: keys, level: try SecurityLevel(level), mode: .s8,
                                      chainingValue: [UInt8](hex: chain), counter: counter)
    }

    func testWrapStepsFromAnExplicitState() throws {
        for vector in file.wrap {
            let session = try protection(enc: vector.s_enc, mac: vector.s_mac, level: [UInt8](hex: vector.level)[0],
                                         chain: vector.chain, counter: vector.counter_before ?? 0)
            for (index, pair) in vector.commands.enumerated() {
                let wrapped = try session.wrap(try CommandAPDU(bytes: [UInt8](hex: pair[0])))
                XCTAssertEqual(try wrapped.encoded().hexString, pair[1], "\(vector.id) #\(index)")
            }
            if let after = vector.chain_after { XCTAssertEqual(session.chainingValue.hexString, after, vector.id) }
        }
    }

    func testCommandEncryptionUsesTheCounterAsICV() throws {
        for vector in file.encrypt_data {
            let session = try protection(enc: vector.s_enc, level: 0x03, counter: vector.counter - 1)
            let wrapped = try session.wrap(CommandAPDU(cla: 0x80, ins: 0xF2, p1: 0, p2: 0, data: [UInt8](hex: vector.plain)))
            XCTAssertEqual(Array(wrapped.data.dropLast(8)).hexString, vector.cipher, vector.id)
        }
    }

    func testResponseEncryptionMarksTheCounterBlock() throws {
        for vector in file.decrypt_response {
            let card = try protection(enc: vector.s_enc, level: 0x33, counter: vector.counter)
            let protected = try card.wrapResponse(ResponseAPDU(data: [UInt8](hex: vector.plain), status: .success))
            XCTAssertEqual(Array(protected.data.dropLast(8)).hexString, vector.cipher, vector.id)
        }
    }

    func testResponseMACVerifiesWithTheCommandChain() throws {
        for vector in file.rmac {
            let host = try protection(rmac: vector.s_rmac, level: 0x11, chain: vector.chain)
            let response = try ResponseAPDU(bytes: [UInt8](hex: vector.response_data_with_rmac + vector.sw))
            let opened = try host.unwrap(response)
            XCTAssertEqual(opened.data.hexString, String(vector.response_data_with_rmac.dropLast(16)), vector.id)
        }
    }
}
