import APDU
import PKCS15
import XCTest

/// Broken card data gets a typed error naming the file and offset, and no
/// input crashes the process.
final class MalformedStructureTests: XCTestCase {
    func dodf(_ hex: String) throws -> [DataObjectEntry] {
        try DataObjectEntry.parseDirectory([UInt8](hex: hex), file: "EF(DODF)")
    }

    func testEachWayStructuresBreakHasItsOwnError() {
        let cases: [(String, PKCS15Error)] = [
            ("A1 1A 30 04 0C 02 44", .truncated(file: "EF(DODF)", offset: 0, needed: 28, available: 7)),
            ("A1 80 00 00", .indefiniteLength(file: "EF(DODF)", offset: 0)),
            ("A1 85 01 02 03 04 05", .lengthTooLarge(file: "EF(DODF)", offset: 0)),
            ("04 02 50 33", .unexpectedTag(file: "EF(DODF)", offset: 0, expected: "a data object (30, A0 or A1)", found: 0x04)),
            ("A1 06 31 04 0C 02 44 4D", .unexpectedTag(file: "EF(DODF)", offset: 2, expected: "CommonObjectAttributes", found: 0x31)),
            ("A1 0C 30 04 0C 02 C3 28 30 00 A1 02 06 00",
             .invalidValue(file: "EF(DODF)", offset: 4, reason: "a label is not valid UTF-8")),
            ("A1 10 30 00 30 00 A1 0A 06 02 67 AB 30 04 04 02 60 01",
             .invalidValue(file: "EF(DODF)", offset: 8, reason: "malformed OBJECT IDENTIFIER")),
            ("A1 10 30 00 30 00 A1 0A 06 01 67 30 05 04 03 60 01 02",
             .invalidValue(file: "EF(DODF)", offset: 13, reason: "a path is a whole number of 2-byte file ids; got 3 bytes")),
            ("A1 0F 30 00 30 00 A1 09 06 01 67 30 05 04 02 60 01",
             .truncated(file: "EF(DODF)", offset: 11, needed: 7, available: 6)),
        ]
        for (hex, expected) in cases {
            XCTAssertThrowsError(try dodf(hex), hex) { error in
                XCTAssertEqual(error as? PKCS15Error, expected, hex)
            }
        }
    }

    func testGarbageAfterTheLastElementIsNotPadding() {
        XCTAssertThrowsError(try ObjectDirectory(bytes: [UInt8](hex: "A7 06 30 04 04 02 50 33 FF FF 42 00"))) { error in
            XCTAssertEqual(error as? PKCS15Error,
                           .unexpectedTag(file: "EF(ODF)", offset: 8, expected: "an ODF choice (A0-A8)", found: 0xFFFF42))
        }
        XCTAssertNoThrow(try ObjectDirectory(bytes: [UInt8](hex: "A7 06 30 04 04 02 50 33 FF FF 00")))
    }

    /// A whole EF of zeros that ends in one other byte is not padding: every
    /// 00 00 pair is an element. The padding end is found once, so reading the
    /// 32,768 elements of a 64 KiB file is linear (it used to rescan the rest of
    /// the file at each element, found reading the code after the BER fuzz run).
    func testZerosBeforeAFinalByteAreElementsReadInOnePass() throws {
        var bytes = [UInt8](repeating: 0x00, count: 65_536)
        bytes[65_534] = 0x42
        var reader = BERReader(bytes, file: "EF(ODF)")
        var elements = 0
        var lastTag: UInt32?
        while let element = try reader.next() {
            elements += 1
            lastTag = element.tag
            XCTAssertEqual(reader.restIsPadding, element.offset == 65_534)
        }
        XCTAssertEqual(elements, 32_768)
        XCTAssertEqual(lastTag, 0x42)
        var padded = BERReader([0x04, 0x01, 0x07, 0xFF, 0x00, 0xFF], file: "EF(ODF)")
        XCTAssertFalse(padded.restIsPadding)
        XCTAssertEqual(try padded.next()?.tag, 0x04)
        XCTAssertTrue(padded.restIsPadding)
        XCTAssertNil(try padded.next())
    }

    func testDeepNestingStops() {
        var bytes: [UInt8] = [0x30, 0x00]
        for _ in 0..<40 { bytes = [0xA1, UInt8(bytes.count)] + bytes }
        XCTAssertThrowsError(try dodf(Hex.encode(bytes))) { error in
            guard case .unexpectedTag? = error as? PKCS15Error else {
                guard case .nestingTooDeep? = error as? PKCS15Error else { return XCTFail("\(error)") }
                return
            }
        }
    }

    func testErrorsNameFileAndOffset() {
        XCTAssertThrowsError(try TokenInfo(bytes: [UInt8](hex: "30 03 02 01"))) { error in
            XCTAssertEqual("\(error)", "EF(TokenInfo) at offset 0: the element needs 5 bytes but only 4 remain (truncated)")
        }
    }

    /// Every prefix, every single-byte change and random bytes: each parse
    /// returns or throws a typed error, and never traps.
    func testNoInputCrashesTheDecoders() {
        let valid = [UInt8](hex: StructureDecodingTests.implicitOidDO + "30 17 30 09 0C 07 43 6F 6E 66 69 67 31 30 00 A1 08 30 06 04 04 3F 00 50 15")
        var inputs: [[UInt8]] = (0...valid.count).map { Array(valid.prefix($0)) }
        for index in valid.indices {
            for value: UInt8 in [0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF] {
                var mutated = valid
                mutated[index] = value
                inputs.append(mutated)
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            inputs.append((0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        var typedErrors = 0
        for input in inputs {
            for parse in [
                { _ = try DataObjectEntry.parseDirectory(input, file: "EF(DODF)") },
                { _ = try ObjectDirectory(bytes: input) },
                { _ = try TokenInfo(bytes: input) },
                { _ = try DirectoryEntry.parse(record: input, number: 1) },
            ] as [() throws -> Void] {
                do { try parse() } catch is PKCS15Error { typedErrors += 1 } catch {
                    XCTFail("untyped error \(error) for \(Hex.encode(input))")
                }
            }
        }
        XCTAssertGreaterThan(typedErrors, inputs.count)
    }
}
