import CardCrypto
import Foundation
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
            let (keys, mode) = try KeyFile.load(path: path)
            XCTAssertEqual(keys.version, 0x30)
            XCTAssertEqual(keys.bits, length * 8)
            XCTAssertEqual(mode, .s16)
        }
    }

    func testAKeyFileOthersCanReadIsRefused() throws {
        let path = try write(#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#,
                             mode: 0o644)
        XCTAssertThrowsError(try KeyFile.load(path: path)) { error in
            XCTAssertEqual(error as? KeyError, .tooOpen(path: path, mode: "644"))
            XCTAssertTrue("\(error)".contains("chmod 600"))
        }
    }

    func testMalformedKeyFilesNameTheProblemButNeverTheKey() throws {
        let cases: [(String, String)] = [
            (#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)"}"#, "\"dek\" is missing"),
            (#"{"kvn": "3", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#, "kvn is not hex"),
            (#"{"kvn": "30", "enc": "\#(secretHex)00", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#,
             "key enc is 17 bytes"),
            (#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)", "mode": "S9"}"#,
             "mode S9 is neither S8 nor S16"),
            ("not json", "not a JSON object"),
        ]
        for (json, reason) in cases {
            let path = try write(json)
            XCTAssertThrowsError(try KeyFile.load(path: path)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(reason), text)
                XCTAssertFalse(text.contains(secretHex), "a key leaked into: \(text)")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testAMissingKeyFileSaysSo() {
        XCTAssertThrowsError(try KeyFile.load(path: "/nonexistent/keys.json")) { error in
            guard case .unreadable(let path, _)? = error as? KeyError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/keys.json")
        }
    }

    func testKeysPrintRedactedAndWipe() throws {
        let path = try write(#"{"kvn": "30", "enc": "\#(secretHex)", "mac": "\#(secretHex)", "dek": "\#(secretHex)"}"#)
        let (keys, _) = try KeyFile.load(path: path)
        XCTAssertEqual("\(keys.enc)", "<redacted 16 bytes>")
        XCTAssertFalse(String(describing: keys).contains(secretHex))
        keys.wipe()
        XCTAssertEqual(keys.mac.exposedCopy(), [UInt8](repeating: 0, count: 16))
    }
}
