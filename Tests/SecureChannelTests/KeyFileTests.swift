import CardCrypto
import Foundation
import LocalFiles
import SecureChannel
import XCTest

final class KeyFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func write(_ json: String, mode: Int = 0o600) throws -> String {
        let path = folder.appendingPathComponent("keys.json").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8),
                                       attributes: [.posixPermissions: mode])
        return path
    }

    let secretHex = "C3A32EC858A524663BFB823A1263C305"

    func testAPrivateKeyFileLoadsEveryKeyLength() throws {
        for length in [16, 24, 32] {
            let key = String(repeating: "A5", count: length)
            let path = try write(#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)", "mode": "S16"}"#)
            let (keys, mode, _) = try KeyFile.open(path: path)
            XCTAssertEqual(keys.version, 0x30)
            XCTAssertEqual(keys.bits, length * 8)
            XCTAssertEqual(mode, .s16)
        }
    }

    func testAKeyFileOthersCanReadIsRefused() throws {
        let path = try write(#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#,
                             mode: 0o644)
        XCTAssertThrowsError(try KeyFile.open(path: path)) { error in
            XCTAssertEqual(error as? SecretFileError, .exposed(path: path, mode: "644"))
            XCTAssertTrue("\(error)".contains("chmod 600"))
        }
    }

    func testMalformedKeyFilesNameTheFieldAndTheProblemButNeverTheKey() throws {
        let key = secretHex
        let cases: [(String, String)] = [
            (#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)"}"#, "dek: missing"),
            (#"{"kvn": "3", "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)"}"#, "kvn: \"3\" is not one hex byte"),
            (#"{"kvn": 256, "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)"}"#, "kvn: 256 is not a key version number"),
            (#"{"kvn": true, "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)"}"#, "kvn: a number (48) or a hex string"),
            (#"{"kvn": "30", "enc": "\#(key.dropLast())", "mac": "\#(key)", "dek": "\#(key)"}"#,
             "enc: 31 hex digits, expected 32, 48 or 64"),
            (#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)00", "dek": "\#(key)"}"#, "mac: 34 hex digits, expected 32, 48 or 64"),
            (#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key.dropLast())g"}"#, "dek: hex digit 32 is not a hex digit"),
            (#"{"kvn": "30", "enc": 12, "mac": "\#(key)", "dek": "\#(key)"}"#, "enc: a string, found a number"),
            (#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)", "mode": "S9"}"#,
             "mode: \"S9\" is neither S8 nor S16"),
            (#"{"kvn": "30", "enc": "\#(key)", "mac": "\#(key)", "dek": "\#(key)"#, "not JSON (cut short, or not JSON at all)"),
            ("not json", "not JSON"),
            ("", "the file is empty, not JSON"),
            ("[1, 2]", "JSON but not an object"),
        ]
        for (json, reason) in cases {
            let path = try write(json)
            XCTAssertThrowsError(try KeyFile.open(path: path)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(reason), "expected \"\(reason)\" in: \(text)")
                XCTAssertFalse(text.contains(secretHex) || text.contains(secretHex.dropLast()), "a key leaked into: \(text)")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testTheKeyVersionIsAJSONNumberOrAHexString() throws {
        for (kvn, version) in [("48", UInt8(0x30)), (#""30""#, 0x30), ("0", 0), (#""00""#, 0), ("255", 0xFF)] {
            let path = try write(#"{"kvn": \#(kvn), "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#)
            let (keys, _, _) = try KeyFile.open(path: path)
            XCTAssertEqual(keys.version, version, kvn)
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testAFIFOOrAnOversizedFileIsRefusedBeforeReading() throws {
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try KeyFile.open(path: fifo)) { error in
            XCTAssertEqual(error as? KeyError, .unreadable(path: fifo, reason: "not a regular file (a FIFO)"))
        }
        let large = try write(String(repeating: " ", count: KeyFile.sizeLimit + 1))
        XCTAssertThrowsError(try KeyFile.open(path: large)) { error in
            XCTAssertTrue("\(error)".contains("larger than 65536 bytes"), "\(error)")
        }
    }

    func testAMissingKeyFileSaysSo() {
        XCTAssertThrowsError(try KeyFile.open(path: "/nonexistent/keys.json")) { error in
            guard case .unreadable(let path, _)? = error as? KeyError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/keys.json")
        }
    }

    func testKeysPrintRedactedAndWipe() throws {
        let path = try write(#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#)
        let (keys, _, _) = try KeyFile.open(path: path)
        XCTAssertEqual("\(keys.enc)", "<redacted 16 bytes>")
        XCTAssertFalse(String(describing: keys).contains(secretHex))
        keys.wipe()
        XCTAssertEqual(keys.mac.exposedCopy(), [UInt8](repeating: 0, count: 16))
    }
}
