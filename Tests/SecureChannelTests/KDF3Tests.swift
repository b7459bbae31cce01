import APDU
import CardCrypto
import Foundation
import SecureChannel
import XCTest

/// The public KDF3 vectors (Tests/Vectors/kdf3, from GlobalPlatformPro's own
/// tests) for AES-128/192/256 through host-held master keys.
final class KDF3Tests: XCTestCase {
    func testEveryKeyCheckValueMatchesGlobalPlatformPro() throws {
        let file = try KDF3VectorFile.load()
        XCTAssertEqual(file.kcv_vectors.count, 3)
        for vector in file.kcv_vectors {
            let master = try HostCMACKey(SecretBytes([UInt8](hex: vector.master)))
            let keys = try KDF3.diversify(master: master, kdd: [UInt8](hex: vector.kdd), version: 0x30)
            XCTAssertEqual(keys.enc.count, master.length, vector.id)
            XCTAssertEqual(try KeyCheckValue.aes(keys.enc).hexString, vector.kcv["ENC"], vector.id)
            XCTAssertEqual(try KeyCheckValue.aes(keys.mac).hexString, vector.kcv["MAC"], vector.id)
            XCTAssertEqual(try KeyCheckValue.aes(keys.dek).hexString, vector.kcv["DEK"], vector.id)
        }
    }

    func testFullDerivedKeyMatchesTheExternalVector() throws {
        let file = try KDF3VectorFile.load()
        XCTAssertFalse(file.full_key_vectors.isEmpty)
        for vector in file.full_key_vectors {
            let master = try HostCMACKey(SecretBytes([UInt8](hex: vector.master)))
            let role = try XCTUnwrap(StaticKeyRole(rawValue: vector.role))
            let key = try KDF3.derive(master: master, role: role, kdd: [UInt8](hex: vector.kdd))
            XCTAssertEqual(key.exposedCopy().hexString, vector.key, vector.id)
        }
    }

    func testKeyCheckValueIsAESOfSixteenOnes() throws {
        // GP Amendment D: KCV = first 3 bytes of AES(key, 16 × 01); the GP
        // test key 40..4F gives 504A77 (GlobalPlatformPro's TestPlaintextKeys,
        // testSessionKeys_SCP03, "Static key").
        let key = SecretBytes((0x40...0x4F).map { UInt8($0) })
        XCTAssertEqual(try KeyCheckValue.aes(key).hexString, "504A77")
    }

    func testDiversificationDataOfTheWrongLengthIsRefused() throws {
        let master = try HostCMACKey(SecretBytes([UInt8](repeating: 0x40, count: 16)))
        XCTAssertThrowsError(try KDF3.derive(master: master, role: .enc, kdd: [0x00, 0x01])) { error in
            XCTAssertEqual(error as? DiversificationError, .kddLength(2))
        }
    }

    func testAMasterKeyOfAnInvalidLengthIsRefused() {
        XCTAssertThrowsError(try HostCMACKey(SecretBytes([UInt8](repeating: 0x40, count: 15))))
    }
}

struct KDF3VectorFile: Decodable {
    struct KCVVector: Decodable { let id: String, master: String, kdd: String, kcv: [String: String] }
    struct KeyVector: Decodable { let id: String, master: String, kdd: String, role: String, key: String }
    let kcv_vectors: [KCVVector]
    let full_key_vectors: [KeyVector]

    static func load() throws -> KDF3VectorFile {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/kdf3/kdf3.json")
        return try JSONDecoder().decode(KDF3VectorFile.self, from: Data(contentsOf: url))
    }
}
