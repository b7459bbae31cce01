@testable import MCIM
import Foundation
import XCTest

final class MCIMBlobTests: XCTestCase {
    /// Two RSA key pairs made by the openssl CLI once for the whole class, and
    /// the folder holding their PEM files (the Python cross-check reads them).
    struct Keys: Sendable {
        let folder: URL
        let publicKey: [UInt8]
        let privateKey: [UInt8]
        let otherPrivateKey: [UInt8]

        static func generate() -> Keys {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcim-\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in ["device", "other"] {
                openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "\(name).key"], in: folder)
            }
            openssl(["pkey", "-in", "device.key", "-pubout", "-out", "device.pub"], in: folder)
            let bytes = { (name: String) in (try? [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))) ?? [] }
            return Keys(folder: folder, publicKey: bytes("device.pub"), privateKey: bytes("device.key"),
                        otherPrivateKey: bytes("other.key"))
        }

        static func openssl(_ arguments: [String], in folder: URL) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = folder
            process.standardError = FileHandle.nullDevice
            try? process.run()
            process.waitUntilExit()
        }
    }

    static let keys = Keys.generate()
    static var folder: URL { keys.folder }
    static var publicKey: [UInt8] { keys.publicKey }
    static var privateKey: [UInt8] { keys.privateKey }
    static var otherPrivateKey: [UInt8] { keys.otherPrivateKey }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    func testRoundTripsAcrossThePaddingEdges() throws {
        // data = 1 + 4 + n + 1 bytes: 10 fills exactly one block, 11 spills into a second.
        for size in [0, 1, 9, 10, 11, 26, 27, 100, 1000] {
            let payload = (0..<size).map { UInt8(($0 * 31) % 256) }
            let blob = try MCIMBlob.pack(payload: payload, tag: .mcim, publicKeyPEM: Self.publicKey)
            let contents = try MCIMBlob.unpack(blob, privateKeyPEM: Self.privateKey)
            XCTAssertEqual(contents, MCIMBlob.Contents(tag: .mcim, version: 1, payload: payload), "size \(size)")
            let ciphertextLength = blob.count - 7 - 256 - 16 - 4 - 20
            XCTAssertEqual(ciphertextLength, (6 + size + 15) / 16 * 16, "size \(size)")
        }
    }

    /// Offsets in a blob for a 2048-bit key: magic 0, version 4, W 5, wrapped 7, IV 263, L 279, ciphertext 283.
    func testEveryTamperingIsRefused() throws {
        let blob = try MCIMBlob.pack(payload: Array("IMSI=262011234567890;Ki=...".utf8), tag: .mcim, publicKeyPEM: Self.publicKey)
        func tampered(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var copy = blob
            change(&copy)
            return copy
        }
        let cases: [(String, [UInt8], MCIMError)] = [
            ("MAC", tampered { $0[$0.count - 1] ^= 1 }, .macMismatch),
            ("ciphertext", tampered { $0[290] ^= 1 }, .macMismatch),
            ("IV", tampered { $0[263] ^= 1 }, .macMismatch),
            ("wrapped keys", tampered { $0[100] ^= 1 }, .unwrapFailed),
            ("wrapped length", tampered { $0[6] ^= 1 }, .wrappedKeyLength(found: 257, expected: 256)),
            ("ciphertext length", tampered { $0[282] ^= 1 }, .ciphertextLength(49)),
            ("ciphertext length longer", tampered { $0[282] = 0x40 }, .truncated(offset: 347, needed: 20, available: 4)),
            ("format version", tampered { $0[4] = 2 }, .unsupportedFormatVersion(2)),
            ("magic", tampered { $0[0] = 0x58 }, .badMagic),
            ("trailing byte", blob + [0], .trailingBytes(1)),
            ("truncated", Array(blob.prefix(100)), .truncated(offset: 7, needed: 256, available: 93)),
        ]
        for (name, input, expected) in cases {
            XCTAssertThrowsError(try MCIMBlob.unpack(input, privateKeyPEM: Self.privateKey), name) { error in
                XCTAssertEqual(error as? MCIMError, expected, "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try MCIMBlob.unpack(blob, privateKeyPEM: Self.otherPrivateKey)) {
            XCTAssertEqual($0 as? MCIMError, .unwrapFailed)
        }
    }

    func testTheDataVersionInsideIsChecked() throws {
        let blob = try MCIMBlob.pack(payload: [1, 2, 3], tag: .update, publicKeyPEM: Self.publicKey, dataVersion: 2)
        XCTAssertThrowsError(try MCIMBlob.unpack(blob, privateKeyPEM: Self.privateKey)) {
            XCTAssertEqual($0 as? MCIMError, .unsupportedDataVersion(2))
        }
        XCTAssertThrowsError(try MCIMBlob.parse([0x07, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 10))) {
            XCTAssertEqual($0 as? MCIMError, .unknownTag(7))
        }
        XCTAssertThrowsError(try MCIMBlob.parse([0x01, 0, 0, 0, 200, 1] + [UInt8](repeating: 0, count: 10))) {
            XCTAssertEqual($0 as? MCIMError, .payloadLength(200))
        }
        XCTAssertThrowsError(try MCIMBlob.parse([0x01, 0, 0, 0, 0, 1, 0, 0, 5] + [UInt8](repeating: 0, count: 7))) {
            XCTAssertEqual($0 as? MCIMError, .badFilling)
        }
    }

    func testABlobFromAnIndependentImplementationUnpacks() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("independent_pack.py")
        for (size, tag) in [(0, 1), (10, 2), (27, 3), (500, 1)] {
            let payload = (0..<size).map { UInt8(($0 * 7 + 3) % 256) }
            let out = Self.folder.appendingPathComponent("python-\(size).blob")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script.path, Self.folder.appendingPathComponent("device.pub").path,
                                 payload.map { String(format: "%02x", $0) }.joined(), String(tag), out.path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0,
                           String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            let contents = try MCIMBlob.unpack([UInt8](try Data(contentsOf: out)), privateKeyPEM: Self.privateKey)
            XCTAssertEqual(contents.payload, payload)
            XCTAssertEqual(contents.tag.rawValue, UInt8(tag))
        }
    }
}
