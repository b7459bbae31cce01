import APDU
import CardCrypto
import Foundation
@testable import KeyCustody
import SecureChannel
import XCTest

/// Each key source gives a card's keys: a static key that stays in the token
/// derives GlobalPlatformPro's published session keys; a master key in the
/// token and one in a key file give the same diversified card; a table row.
final class CardKeyProviderTests: XCTestCase {
    let gpKey = (0x40...0x4F).map { UInt8($0) }
    let kdd = [UInt8](hex: "00010203040506070809")

    func testAStaticKeyInTheTokenDerivesGlobalPlatformProsSessionKeys() throws {
        // GlobalPlatformPro TestPlaintextKeys.testSessionKeys_SCP03 (commit
        // 7f524e3f): static key 40..4F, context 00..09 → S-ENC C25559,
        // S-MAC 0E12CC, S-RMAC 9ACB9C (KCVs).
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "static", value: gpKey, sign: true)
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "static")), environment: [:])
        let provider = try CardKeyProvider(source: .token(try token.secretKey(use: .cmac), version: 0x30),
                                           diversification: nil)
        XCTAssertEqual(provider.requestedKeyVersion, 0x30)
        let keys = try provider.keys(kdd: kdd, iccid: nil)
        XCTAssertNil(keys.keysInHostMemory, "a token's static key never enters host memory")
        let session = try keys.sessionKeys(hostChallenge: kdd, cardChallenge: [])
        XCTAssertEqual(try KeyCheckValue.aes(session.enc).hexString, "C25559")
        XCTAssertEqual(try KeyCheckValue.aes(session.mac).hexString, "0E12CC")
        XCTAssertEqual(try KeyCheckValue.aes(session.rmac).hexString, "9ACB9C")
    }

    func testAMasterKeyInTheTokenAndInHostMemoryDiversifyAlike() throws {
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kmc", value: gpKey, sign: true)
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc")), environment: [:])
        let inToken = try CardKeyProvider(source: .token(try token.secretKey(use: .cmac), version: 0), diversification: .kdf3)
        let masters = try SCP03Keys(version: 0, enc: SecretBytes(gpKey), mac: SecretBytes(gpKey), dek: SecretBytes(gpKey))
        let inHost = try CardKeyProvider(source: .host(masters), diversification: .kdf3)
        let fromToken = try XCTUnwrap(try inToken.keys(kdd: kdd, iccid: nil).keysInHostMemory)
        let fromHost = try XCTUnwrap(try inHost.keys(kdd: kdd, iccid: nil).keysInHostMemory)
        for role in StaticKeyRole.allCases {
            XCTAssertEqual(fromToken.key(role).exposedCopy(), fromHost.key(role).exposedCopy(), role.rawValue)
        }
        XCTAssertEqual(try KeyCheckValue.aes(fromToken.enc).hexString, "E79C05")
    }

    func testWipingOneCardsKeysLeavesTheSourceIntact() throws {
        let masters = try SCP03Keys(version: 0x30, enc: SecretBytes(gpKey), mac: SecretBytes(gpKey), dek: SecretBytes(gpKey))
        let provider = try CardKeyProvider(source: .host(masters), diversification: nil)
        let first = try provider.keys(kdd: kdd, iccid: nil)
        first.wipe()
        XCTAssertEqual(first.keysInHostMemory?.enc.exposedCopy(), [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(masters.enc.exposedCopy(), gpKey)
    }

    func testAKeyTableCannotBeDiversified() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-ckp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.csv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("KDD,ENC,MAC,DEK\n".utf8), attributes: [.posixPermissions: 0o600]), "cannot create the test file")
        let table = try KeyTable(path: path, encrypted: false)
        XCTAssertThrowsError(try CardKeyProvider(source: .table(table, keyEncryptionKey: nil), diversification: .kdf3)) { error in
            XCTAssertEqual(error as? CardKeyProviderError, .tableCannotBeDiversified)
        }
    }
}
