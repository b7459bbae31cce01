import Foundation
import KeySources
import SecureChannel
import XCTest

/// One order of key sources for dmboot and apdu-shell.
final class KeySourceResolverTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func keyFile(kvn: String, mode: String = "S8") throws -> String {
        let path = folder.appendingPathComponent("keys-\(kvn).json").path
        let key = String(repeating: "11", count: 16)
        let json = #"{"kvn":"\#(kvn)","enc":"\#(key)","mac":"\#(key)","dek":"\#(key)","mode":"\#(mode)"}"#
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(json.utf8),
                                                    attributes: [.posixPermissions: 0o600]))
        return path
    }

    func resolver(_ environment: [String: String] = [:]) -> KeySourceResolver {
        KeySourceResolver(environment: environment, warn: { _ in })
    }

    func testAKeyFileGivesItsKeyVersionAndMode() throws {
        let resolved = try resolver().resolve(KeyOptions(keys: try keyFile(kvn: "31", mode: "S16")))
        XCTAssertEqual(resolved.source.requestedKeyVersion, 0x31)
        XCTAssertEqual(resolved.mode, .s16)
    }

    func testTheCommandLineWinsOverTheEnvironment() throws {
        let environment = ["DMBOOT_KEYS": try keyFile(kvn: "32")]
        XCTAssertEqual(try resolver(environment).resolve(KeyOptions(keys: try keyFile(kvn: "31"))).source.requestedKeyVersion, 0x31)
        XCTAssertEqual(try resolver(environment).resolve(KeyOptions()).source.requestedKeyVersion, 0x32)
    }

    func testHexKeysFromTheEnvironmentTakeDMBOOT_KVN() throws {
        let key = String(repeating: "22", count: 16)
        let environment = ["DMBOOT_KEY_ENC": key, "DMBOOT_KEY_MAC": key, "DMBOOT_KEY_DEK": key, "DMBOOT_KVN": "33"]
        XCTAssertEqual(try resolver(environment).resolve(KeyOptions()).source.requestedKeyVersion, 0x33)
    }

    func testTheTestKeysAreUsedOnlyByNameAndWarn() throws {
        XCTAssertThrowsError(try resolver().resolve(KeyOptions())) { XCTAssertEqual($0 as? KeyError, .missing) }
        let warned = expectation(description: "warned")
        let resolved = try KeySourceResolver(environment: [:], warn: { _ in warned.fulfill() })
            .resolve(KeyOptions(kvn: "30", globalPlatformTestKeys: true))
        wait(for: [warned], timeout: 0)
        XCTAssertEqual(resolved.source.requestedKeyVersion, 0x30)
    }

    func testTwoSourcesOrPartOfTheHexKeysAreRefused() throws {
        XCTAssertThrowsError(try resolver().resolve(KeyOptions(keys: "k.json", globalPlatformTestKeys: true))) {
            XCTAssertEqual($0 as? KeyError, .conflictingSources)
        }
        XCTAssertThrowsError(try resolver().resolve(KeyOptions(enc: "00", mac: "00"))) {
            XCTAssertEqual($0 as? KeyError, .incompleteHexKeys)
        }
    }

    func testAKeyLocationIsAFilePathToday() {
        XCTAssertEqual(KeyLocation(parsing: "/etc/dmboot/keys.json"), .file(path: "/etc/dmboot/keys.json"))
    }
}
