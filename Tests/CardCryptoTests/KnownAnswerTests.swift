import APDU
@testable import CardCrypto
import Foundation
import Synchronization
import XCTest

/// AES-CMAC and HMAC against published vectors; the CMAC ones are read from
/// Tests/Vectors/scp03/kdf_cmac.json (RFC 4493 / SP 800-38B, with provenance).
final class KnownAnswerTests: XCTestCase {
    struct CMACVector: Decodable {
        let id: String
        let key: String
        let message: String
        let tag: String
    }

    static func cmacVectors() throws -> [CMACVector] {
        struct File: Decodable { let cmac: [CMACVector] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/scp03/kdf_cmac.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cmac
    }

    func testAESCMACMatchesEveryPublishedVector() throws {
        let vectors = try Self.cmacVectors()
        XCTAssertEqual(vectors.count, 12)
        for vector in vectors {
            let tag = try MAC.cmac(key: SecretBytes([UInt8](hex: vector.key)), message: [UInt8](hex: vector.message))
            XCTAssertEqual(tag.hexString, vector.tag, vector.id)
        }
    }

    func testHMACMatchesRFC4231AndRFC2202() throws {
        // RFC 4231 test case 2 (HMAC-SHA-256) and RFC 2202 test case 2 (HMAC-SHA-1, HMAC-MD5).
        let key = SecretBytes(Array("Jefe".utf8))
        let message = Array("what do ya want for nothing?".utf8)
        XCTAssertEqual(try MAC.hmac(.sha256, key: key, message: message).hexString,
                       "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843")
        XCTAssertEqual(try MAC.hmac(.sha1, key: key, message: message).hexString,
                       "EFFCDF6AE5EB2FA2D27416D5F184DF9C259A7C79")
        XCTAssertEqual(try MAC.hmac(.md5, key: key, message: message).hexString,
                       "750C783E6AB0B503EAA86E310A5DB738")
    }

    func testDigestsMatchFIPSExamples() throws {
        XCTAssertEqual(try Hash.digest(.sha256, Array("abc".utf8)).hexString,
                       "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
        XCTAssertEqual(try Hash.digest(.sha1, Array("abc".utf8)).hexString, "A9993E364706816ABA3E25717850C26C9CD0D89D")
        XCTAssertEqual(try Hash.digest(.md5, Array("abc".utf8)).hexString, "900150983CD24FB0D6963F7D28E17F72")
    }

    func testAESMatchesFIPS197AndSP80038A() throws {
        // FIPS-197 C.1 (AES-128 ECB) and SP 800-38A F.2.1 (CBC, first block).
        let fipsKey = SecretBytes([UInt8](hex: "000102030405060708090A0B0C0D0E0F"))
        let cipher = try AES.encrypt([UInt8](hex: "00112233445566778899AABBCCDDEEFF"), key: fipsKey, mode: .ecb)
        XCTAssertEqual(cipher.hexString, "69C4E0D86A7B0430D8CDB78070B4C55A")
        XCTAssertEqual(try AES.decrypt(cipher, key: fipsKey, mode: .ecb).hexString, "00112233445566778899AABBCCDDEEFF")
        let cbc = try AES.encrypt([UInt8](hex: "6BC1BEE22E409F96E93D7E117393172A"),
                                  key: SecretBytes([UInt8](hex: "2B7E151628AED2A6ABF7158809CF4F3C")), mode: .cbc,
                                  iv: [UInt8](hex: "000102030405060708090A0B0C0D0E0F"))
        XCTAssertEqual(cbc.hexString, "7649ABAC8119B246CEE98E9B12E9197D")
    }

    func testAESRefusesUnalignedDataAndBadKeys() {
        XCTAssertThrowsError(try AES.encrypt([1, 2, 3], key: SecretBytes([UInt8](repeating: 0, count: 16)), mode: .ecb)) {
            XCTAssertEqual($0 as? CryptoError, .notBlockAligned(3))
        }
        XCTAssertThrowsError(try MAC.cmac(key: SecretBytes([UInt8](repeating: 0, count: 15)), message: [])) {
            XCTAssertEqual($0 as? CryptoError, .invalidKeyLength(15))
        }
    }

    /// OpenSSL reads 16 IV bytes from whatever pointer it is given: a short
    /// IV would be read past its end.
    func testACBCIVOfOtherThan16BytesIsRefusedBeforeOpenSSLSeesIt() {
        let key = SecretBytes([UInt8](repeating: 0, count: 16))
        for length in [0, 8, 15, 17] {
            XCTAssertThrowsError(try AES.encrypt([UInt8](repeating: 0, count: 16), key: key, mode: .cbc,
                                                 iv: [UInt8](repeating: 0, count: length))) {
                XCTAssertEqual($0 as? CryptoError, .invalidIVLength(length))
            }
        }
        XCTAssertThrowsError(try AES.decrypt([UInt8](repeating: 0, count: 16), key: key, mode: .ecb, iv: [1])) {
            XCTAssertEqual($0 as? CryptoError, .invalidIVLength(1))
        }
    }

    /// A PEM key of another algorithm is refused as not RSA (and freed), and
    /// leaves no stale reason in OpenSSL's queue for the next failure.
    func testANonRSAKeyIsRefusedAndTheNextFailureCarriesOnlyItsOwnReasons() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("ec.pem")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path.path]
        try process.run()
        process.waitUntilExit()
        let pem = [UInt8](try Data(contentsOf: path))
        XCTAssertThrowsError(try RSAOAEPKey(pem: pem, isPrivate: true)) {
            XCTAssertEqual($0 as? RSAKeyError, .notRSA(isPrivate: true))
        }
        XCTAssertThrowsError(try RSAOAEPKey(pem: Array("not a key".utf8), isPrivate: false)) {
            XCTAssertEqual($0 as? RSAKeyError, .notRSA(isPrivate: false))
        }
        XCTAssertEqual(CryptoError.drainOpenSSLErrors(), "no detail", "the refusals left their reasons queued")
    }

    func testSecretsNeverPrintTheirBytesAndWipeToZero() {
        let secret = SecretBytes([0xDE, 0xAD, 0xBE, 0xEF])
        XCTAssertEqual("\(secret)", "<redacted 4 bytes>")
        XCTAssertEqual(String(reflecting: secret), "<redacted 4 bytes>")
        secret.wipe()
        XCTAssertEqual(secret.exposedCopy(), [0, 0, 0, 0])
    }

    /// The secret keeps its own copy: the caller's array buffer is not its
    /// storage (an array would share it copy-on-write, and wiping would
    /// then zero a fresh copy and leave the shared bytes behind).
    func testASecretNeverSharesTheBufferItWasMadeFrom() {
        let bytes: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let secret = SecretBytes(bytes)
        let source = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let storage = secret.withBytes { UInt(bitPattern: $0.baseAddress) }
        XCTAssertNotEqual(source, storage)
        secret.wipe()
        XCTAssertEqual(secret.exposedCopy(), [0, 0, 0, 0])
        XCTAssertEqual(bytes, [0xDE, 0xAD, 0xBE, 0xEF], "the caller's array is the caller's to wipe")
    }

    /// What is in the secret's memory when it is freed: zeros only.
    func testASecretsMemoryIsZeroWhenItIsFreed() {
        let seen = Mutex<[UInt8]?>(nil)
        do {
            let secret = SecretBytes([0xDE, 0xAD, 0xBE, 0xEF], onRelease: { buffer in seen.withLock { $0 = Array(buffer) } })
            XCTAssertEqual(secret.count, 4)
        }
        XCTAssertEqual(seen.withLock { $0 }, [0, 0, 0, 0])
    }

    /// A key cut out of a longer unwrapped block is copied straight into the
    /// secret's own buffer, and that buffer is zero when it is freed.
    func testASecretMadeFromASliceHoldsOnlyThoseBytesInItsOwnBuffer() {
        let block: [UInt8] = [1, 2, 3, 4, 5, 6]
        let seen = Mutex<[UInt8]?>(nil)
        do {
            let secret = SecretBytes(block[2..<5], onRelease: { buffer in seen.withLock { $0 = Array(buffer) } })
            XCTAssertEqual(secret.exposedCopy(), [3, 4, 5])
            let blockStart = block.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            let storage = secret.withBytes { UInt(bitPattern: $0.baseAddress) }
            XCTAssertFalse((blockStart..<blockStart + 6).contains(storage))
        }
        XCTAssertEqual(seen.withLock { $0 }, [0, 0, 0])
        XCTAssertEqual(block, [1, 2, 3, 4, 5, 6], "the block is the caller's to wipe")
    }

    func testTakingATemporaryWipesIt() {
        var derived: [UInt8] = [1, 2, 3, 4]
        let secret = SecretBytes(wiping: &derived)
        XCTAssertEqual(derived, [0, 0, 0, 0])
        XCTAssertEqual(secret.exposedCopy(), [1, 2, 3, 4])
    }

    func testConstantTimeCompareAndRandom() throws {
        XCTAssertTrue(Secure.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(Secure.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(Secure.constantTimeEquals([1, 2], [1, 2, 3]))
        let a = try Secure.randomBytes(16), b = try Secure.randomBytes(16)
        XCTAssertEqual(a.count, 16)
        XCTAssertNotEqual(a, b)
    }
}
