@testable import DMBootstrap
import APDU
import XCTest

/// Each way a bootstrap document breaks has its own error; nothing crashes.
final class MalformedBootstrapTests: XCTestCase {
    func wbxml(_ hex: String) throws -> Document { try WBXMLDecoder().decode([UInt8](hex: hex)) }

    func testMalformedWBXMLCorpus() {
        let cases: [(String, String, WBXMLError)] = [
            ("truncated header", "03", .truncated(offset: 1)),
            ("truncated body", "03 A4 01 6A 00 6D 6C", .truncated(offset: 7)),
            ("unsupported version", "04 A4 01 6A 00 6D 01", .unsupportedVersion(0x04)),
            ("wrong public id", "03 01 6A 00 45 01", .unknownPublicID("0x1")),
            ("unsupported charset", "03 A4 01 11 00 6D 01", .unsupportedCharset(17)),
            ("bad tag token", "03 A4 01 6A 00 7F 01", .unknownTag(page: 0, token: 0x3F, offset: 5)),
            ("extension token", "03 A4 01 6A 00 6D 40 03 01", .extensionToken(0x40, offset: 6)),
            ("string-table offset out of range", "03 A4 01 6A 02 41 00 6D 83 05 01",
             .stringTableOffsetOutOfRange(index: 5, tableLength: 2)),
            ("public id string out of range", "03 00 09 6A 00 6D 01", .stringTableOffsetOutOfRange(index: 9, tableLength: 0)),
            ("huge opaque length", "03 A4 01 6A 00 6D C3 8F FF FF FF 7F 01",
             .lengthBeyondEnd(offset: 12, length: Int(UInt32.max), available: 1)),
            ("multi-byte integer over 32 bits", "03 FF FF FF FF FF 7F", .invalidMultiByteInteger(offset: 1)),
            ("invalid UTF-8", "03 A4 01 6A 00 6D 03 C3 28 00 01", .invalidUTF8(offset: 6)),
            ("unterminated inline string", "03 A4 01 6A 00 6D 03 41 42", .unterminatedString(offset: 7)),
            ("trailing data", "03 A4 01 6A 00 2D 2D", .trailingData(offset: 6)),
            ("unknown attribute", "03 0B 6A 00 C5 7E 01 01", .unknownAttribute(page: 0, token: 0x7E, offset: 5)),
        ]
        for (name, hex, expected) in cases {
            XCTAssertThrowsError(try wbxml(hex), name) { error in
                XCTAssertEqual(error as? WBXMLError, expected, "\(name): \(error)")
            }
        }
    }

    func testDeepNestingIsRefused() {
        let depth = WBXMLDecoder.maxDepth + 5
        let bytes: [UInt8] = [0x03, 0xA4, 0x01, 0x6A, 0x00] + [UInt8](repeating: 0x54, count: depth)
            + [UInt8](repeating: 0x01, count: depth)
        XCTAssertThrowsError(try WBXMLDecoder().decode(bytes)) { error in
            guard case .tooDeep? = error as? WBXMLError else { return XCTFail("\(error)") }
        }
        let xml = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        XCTAssertThrowsError(try XMLReader().decode(Array(xml.utf8))) { error in
            XCTAssertTrue("\(error)".contains("nest deeper"), "\(error)")
        }
    }

    func testMalformedXMLNamesLineAndColumn() {
        XCTAssertThrowsError(try BootstrapDecoder().decode(Array("<SyncML><SyncBody></SyncML>".utf8))) { error in
            guard case .malformed(let line, _, _)? = error as? XMLDocumentError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 1)
        }
    }

    func testExternalEntitiesAreNeverResolved() {
        let xml = """
        <?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY leak SYSTEM "file:///etc/passwd">]><SyncML>&leak;</SyncML>
        """
        XCTAssertThrowsError(try BootstrapDecoder().decode(Array(xml.utf8)))
    }

    func testDocumentsThatAreNotBootstraps() {
        XCTAssertThrowsError(try BootstrapDecoder().decode(Array("<html/>".utf8))) {
            XCTAssertEqual($0 as? BootstrapError, .notABootstrap(root: "html"))
        }
        XCTAssertThrowsError(try BootstrapDecoder().decode([0x89, 0x50, 0x4E, 0x47])) {
            XCTAssertEqual($0 as? BootstrapError, .unknownFormat)
        }
        XCTAssertThrowsError(try BootstrapDecoder().decode([])) { XCTAssertEqual($0 as? BootstrapError, .unknownFormat) }
    }

    func testNoInputCrashesTheDecoder() throws {
        var inputs: [[UInt8]] = []
        for name in ["dm12-psk.wbxml", "cp-w7.wbxml", "dm12-psk-tnds.wbxml"] {
            let valid = try Fixtures.bytes(name)
            inputs += stride(from: 0, to: valid.count, by: 7).map { Array(valid.prefix($0)) }
            for index in stride(from: 0, to: valid.count, by: 3) {
                for value: UInt8 in [0x00, 0x01, 0x03, 0x40, 0x83, 0xC3, 0xFF] {
                    var mutated = valid
                    mutated[index] = value
                    inputs.append(mutated)
                }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            inputs.append([0x03, 0xA4, 0x01, 0x6A] + (0..<Int.random(in: 0...48, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            })
        }
        var decoded = 0
        for input in inputs {
            do {
                let bootstrap = try BootstrapDecoder().decode(input)
                _ = AccountValidator().problems(in: bootstrap.accounts)
                decoded += 1
            } catch is WBXMLError {
            } catch is BootstrapError {
            } catch is XMLDocumentError {
            } catch {
                XCTFail("untyped error \(error)")
            }
        }
        XCTAssertGreaterThan(decoded, 0, "some mutations still decode")
    }
}
