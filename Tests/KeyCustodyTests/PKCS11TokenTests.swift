import APDU
import CardCrypto
import Foundation
import LocalFiles
@testable import KeyCustody
import SecureChannel
import XCTest

/// KDF3 with the master key inside SoftHSM2, against GlobalPlatformPro's
/// public known answers (Tests/Vectors/kdf3), and each way a token can be
/// unusable, each failing before any card would be touched.
final class PKCS11TokenTests: XCTestCase {
    func testDiversificationByTheTokensCMACMatchesEveryGlobalPlatformProVector() throws {
        let hsm = try SoftHSM()
        let vectors = try KDF3Vectors.load()
        for (index, vector) in vectors.kcv_vectors.enumerated() {
            try hsm.createAESKey(label: "kmc\(index)", value: [UInt8](hex: vector.master), sign: true)
        }
        for (index, vector) in vectors.kcv_vectors.enumerated() {
            let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc\(index)")), environment: [:])
            let master = try token.secretKey(use: .cmac)
            XCTAssertTrue(master.usesTokenCMAC, vector.id)
            let keys = try KDF3.diversify(master: master, kdd: [UInt8](hex: vector.kdd), version: 0)
            XCTAssertEqual(try KeyCheckValue.aes(keys.enc).hexString, vector.kcv["ENC"], vector.id)
            XCTAssertEqual(try KeyCheckValue.aes(keys.mac).hexString, vector.kcv["MAC"], vector.id)
            XCTAssertEqual(try KeyCheckValue.aes(keys.dek).hexString, vector.kcv["DEK"], vector.id)
        }
    }

    func testATokenWithoutCMACUseFallsBackToAESECBAndDerivesTheSameKeys() throws {
        let hsm = try SoftHSM()
        let vectors = try KDF3Vectors.load()
        let external = try XCTUnwrap(vectors.full_key_vectors.first)
        try hsm.createAESKey(label: "kmc", value: [UInt8](hex: external.master), sign: false, encrypt: true)
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc")), environment: [:])
        let master = try token.secretKey(use: .cmac)
        XCTAssertFalse(master.usesTokenCMAC)
        let key = try KDF3.derive(master: master, role: .enc, kdd: [UInt8](hex: external.kdd))
        XCTAssertEqual(key.exposedCopy().hexString, external.key)
        // Messages of every length class: empty, partial block, whole blocks.
        let host = try HostCMACKey(SecretBytes([UInt8](hex: external.master)))
        for length in [0, 1, 15, 16, 17, 32, 40] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            XCTAssertEqual(try master.cmac(message), try host.cmac(message), "length \(length)")
        }
    }

    func testTheEnvironmentGivesThePINWhenTheURIHasNoPinSource() throws {
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kmc", value: [UInt8](repeating: 0x40, count: 16))
        let uri = try PKCS11URI(hsm.uri(object: "kmc", pinSource: false))
        XCTAssertNoThrow(try PKCS11Token(uri: uri, environment: [PINSource.environmentName: hsm.pin]).secretKey(use: .cmac))
        XCTAssertThrowsError(try PKCS11Token(uri: uri, environment: [:])) { error in
            XCTAssertEqual(error as? PINSourceError, .noPIN)
        }
    }

    func testAWrongPINIsRefusedAsSuch() throws {
        let hsm = try SoftHSM()
        let uri = try PKCS11URI(hsm.uri(object: "kmc", pinSource: false))
        XCTAssertThrowsError(try PKCS11Token(uri: uri, environment: [PINSource.environmentName: "0000"])) { error in
            XCTAssertEqual(error as? PKCS11Error, .pinIncorrect(token: hsm.label))
        }
    }

    func testAMissingTokenNamesTheTokensPresent() throws {
        let hsm = try SoftHSM()
        let uri = try PKCS11URI(hsm.uri(object: "kmc", token: "Elsewhere"))
        XCTAssertThrowsError(try PKCS11Token(uri: uri, environment: [:])) { error in
            guard case .tokenNotFound(let label, let present)? = error as? PKCS11Error else { return XCTFail("\(error)") }
            XCTAssertEqual(label, "Elsewhere")
            XCTAssertTrue(present.contains(hsm.label))
            XCTAssertFalse(present.contains(""), "uninitialised slots are not tokens")
        }
    }

    func testAMissingObjectIsRefused() throws {
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kmc", value: [UInt8](repeating: 0x40, count: 16))
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "other")), environment: [:])
        XCTAssertThrowsError(try token.secretKey(use: .cmac)) { error in
            guard case .objectNotFound? = error as? PKCS11Error else { return XCTFail("\(error)") }
        }
        let wrongID = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc", id: "%02")), environment: [:])
        XCTAssertThrowsError(try wrongID.secretKey(use: .cmac))
    }

    func testTwoKeysWithOneLabelNeedAnID() throws {
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kmc", id: [0x01], value: [UInt8](repeating: 0x40, count: 16))
        try hsm.createAESKey(label: "kmc", id: [0x02], value: [UInt8](repeating: 0x41, count: 16))
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc")), environment: [:])
        XCTAssertThrowsError(try token.secretKey(use: .cmac)) { error in
            guard case .objectAmbiguous? = error as? PKCS11Error else { return XCTFail("\(error)") }
        }
        let chosen = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc", id: "%02")), environment: [:])
        let key = try chosen.secretKey(use: .cmac)
        let host = try HostCMACKey(SecretBytes([UInt8](repeating: 0x41, count: 16)))
        XCTAssertEqual(try key.cmac([1, 2, 3]), try host.cmac([1, 2, 3]))
    }

    func testAKeyThatMaySignNorEncryptIsRefused() throws {
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kmc", value: [UInt8](repeating: 0x40, count: 16), sign: false, encrypt: false)
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc")), environment: [:])
        XCTAssertThrowsError(try token.secretKey(use: .cmac)) { error in
            guard case .keyUsageMissing? = error as? PKCS11Error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try token.secretKey(use: .decrypt)) { error in
            guard case .keyUsageMissing? = error as? PKCS11Error else { return XCTFail("\(error)") }
        }
    }

    func testAModuleThatCannotBeLoadedIsNamed() throws {
        let uri = try PKCS11URI("pkcs11:token=T;object=k?module-path=/nonexistent/libnothing.so")
        XCTAssertThrowsError(try PKCS11Token(uri: uri, environment: [:])) { error in
            guard case .moduleUnloadable(let path, _)? = error as? PKCS11Error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/libnothing.so")
        }
    }

    func testAPINFileOthersCanReadIsRefused() throws {
        let hsm = try SoftHSM()
        chmod(hsm.pinFile.path, 0o644)
        XCTAssertThrowsError(try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kmc")), environment: [:])) { error in
            guard case .exposed? = error as? SecretFileError else { return XCTFail("\(error)") }
        }
    }
}

struct KDF3Vectors: Decodable {
    struct KCVVector: Decodable { let id: String, master: String, kdd: String, kcv: [String: String] }
    struct KeyVector: Decodable { let id: String, master: String, kdd: String, role: String, key: String }
    let kcv_vectors: [KCVVector]
    let full_key_vectors: [KeyVector]

    static func load() throws -> KDF3Vectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/kdf3/kdf3.json")
        return try JSONDecoder().decode(KDF3Vectors.self, from: Data(contentsOf: url))
    }
}
