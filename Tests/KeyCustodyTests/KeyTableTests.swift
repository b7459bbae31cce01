import APDU
import CardCrypto
import Foundation
import LocalFiles
@testable import KeyCustody
import SecureChannel
import XCTest

/// Per-card key tables: lookup by KDD and by ICCID, a card that is not
/// listed, malformed files, and columns encrypted as pySim encrypts them
/// (written here by pyca/cryptography, decrypted by a key-encryption key
/// inside SoftHSM2).
final class KeyTableTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    let plain = """
        kdd,kvn,enc,mac,dek,ICCID
        00010203040506070809,30,404142434445464748494A4B4C4D4E4F,505152535455565758595A5B5C5D5E5F,606162636465666768696A6B6C6D6E6F,8949000000000000001
        "0A0B0C0D0E0F10111213",31,000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F,000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F,000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F,
        ,32,707172737475767778797A7B7C7D7E7F,707172737475767778797A7B7C7D7E7F,707172737475767778797A7B7C7D7E7F,8949000000000000003

        """

    func write(_ text: String, _ name: String = "keys.csv", mode: mode_t = 0o600) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    func testRowsAreFoundByKDDAndByICCID() throws {
        let table = try KeyTable(path: write(plain), encrypted: false)
        XCTAssertEqual(table.count, 3)
        let first = try table.keys(iccid: nil, kdd: [UInt8](hex: "00010203040506070809"), decrypt: nil)
        XCTAssertEqual(first.version, 0x30)
        XCTAssertEqual(first.mac.exposedCopy().hexString, "505152535455565758595A5B5C5D5E5F")
        let byICCID = try table.keys(iccid: "8949000000000000003", kdd: [UInt8](repeating: 0xFF, count: 10), decrypt: nil)
        XCTAssertEqual(byICCID.dek.exposedCopy().hexString, "707172737475767778797A7B7C7D7E7F")
        XCTAssertEqual(byICCID.version, 0x32)
        let second = try table.keys(iccid: nil, kdd: [UInt8](hex: "0A0B0C0D0E0F10111213"), decrypt: nil)
        XCTAssertEqual(second.bits, 256)
    }

    func testACardThatIsNotListedFailsWithItsOwnError() throws {
        let table = try KeyTable(path: write(plain), encrypted: false)
        XCTAssertThrowsError(try table.keys(iccid: nil, kdd: [UInt8](repeating: 0x77, count: 10), decrypt: nil)) { error in
            guard case .cardNotInTable(_, let card)? = error as? KeyTableError else { return XCTFail("\(error)") }
            XCTAssertEqual(card, "KDD 77777777777777777777")
        }
        // The first row's KDD, but another card's ICCID: not this card's row.
        XCTAssertThrowsError(try table.keys(iccid: "8949000000000000999", kdd: [UInt8](hex: "00010203040506070809"),
                                            decrypt: nil)) { error in
            guard case .cardNotInTable? = error as? KeyTableError else { return XCTFail("\(error)") }
        }
        // A card whose ICCID is known is still found by KDD when its row has no ICCID.
        let second = try table.keys(iccid: "8949000000000000555", kdd: [UInt8](hex: "0A0B0C0D0E0F10111213"), decrypt: nil)
        XCTAssertEqual(second.version, 0x31)
    }

    func testMalformedTablesNameTheLine() throws {
        let cases: [(String, Int)] = [
            ("kdd,enc,mac,dek\n00010203040506070809,4041,4041,4041\n", 2),
            ("kdd,enc,mac,dek\n0001,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F\n", 2),
            ("enc,mac,dek\n404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F\n", 1),
            ("kdd,enc,mac,dek\n00010203040506070809,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F\n", 2),
            ("kdd,enc,mac,dek\n00010203040506070809,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F\n"
             + "00010203040506070809,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F,404142434445464748494A4B4C4D4E4F\n", 3),
            ("kdd,enc,mac,dek\n\"00010203040506070809,4041\n", 2),
        ]
        for (text, line) in cases {
            XCTAssertThrowsError(try KeyTable(path: write(text), encrypted: false), text) { error in
                guard case .malformed(_, let reported, _)? = error as? KeyTableError else { return XCTFail("\(error)") }
                XCTAssertEqual(reported, line, text)
            }
        }
    }

    func testAPlaintextTableOthersCanReadIsRefused() throws {
        XCTAssertThrowsError(try KeyTable(path: write(plain, mode: 0o644), encrypted: false)) { error in
            guard case .exposed? = error as? SecretFileError else { return XCTFail("\(error)") }
        }
    }

    func testColumnsEncryptedAsPySimDoesAreDecryptedInTheToken() throws {
        let kek = [UInt8](hex: "000102030405060708090A0B0C0D0E0F")
        let encrypted = try pySimEncrypt(plain, kek: kek)
        XCTAssertFalse(encrypted.contains("404142434445464748494A4B4C4D4E4F".lowercased()))
        let hsm = try SoftHSM()
        try hsm.createAESKey(label: "kek", value: kek, sign: false, decrypt: true)
        let token = try PKCS11Token(uri: PKCS11URI(hsm.uri(object: "kek")), environment: [:])
        let key = try token.secretKey(use: .decrypt)
        let table = try KeyTable(path: write(encrypted, mode: 0o644), encrypted: true)
        let keys = try table.keys(iccid: nil, kdd: [UInt8](hex: "00010203040506070809")) {
            try key.decryptCBC($0, iv: KeyTable.columnIV)
        }
        XCTAssertEqual(keys.enc.exposedCopy().hexString, "404142434445464748494A4B4C4D4E4F")
        XCTAssertEqual(keys.mac.exposedCopy().hexString, "505152535455565758595A5B5C5D5E5F")
        let wide = try table.keys(iccid: nil, kdd: [UInt8](hex: "0A0B0C0D0E0F10111213")) {
            try key.decryptCBC($0, iv: KeyTable.columnIV)
        }
        XCTAssertEqual(wide.enc.exposedCopy().hexString, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    }

    func pySimEncrypt(_ text: String, kek: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pysim_csv.py").path,
                             kek.hexString]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }
}
