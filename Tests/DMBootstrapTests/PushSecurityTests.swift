import APDU
import CardCrypto
import DMBootstrap
import Foundation
import XCTest

/// Known answers from known_answers.py (Python's hmac and hashlib, nothing of dmboot's).
final class PushSecurityTests: XCTestCase {
    lazy var body: [UInt8] = (try? Fixtures.bytes("dm12-x509.wbxml")) ?? []

    func pin(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

    /// Secrets end up in error reports and debugger output: they show their length there, never their bytes.
    func testPushSecretsNeverShowTheirBytes() throws {
        let secrets: [PushSecret] = [.userPIN(pin("4711")), .raw(SecretBytes(Array("operator-key".utf8))),
                                     .userPINNetworkID(pin: pin("4711"), networkID: .sharedSecret(SecretBytes(Array("operator-key".utf8))))]
        for secret in secrets {
            for text in [String(describing: secret), String(reflecting: secret)] {
                XCTAssertTrue(text.contains("<redacted "), text)
                XCTAssertFalse(text.contains("4711") || text.contains("operator-key") || text.contains("52, 55, 49, 49"), text)
            }
        }
        XCTAssertEqual(PushSecret.userPINNetworkID(pin: pin("4711"), networkID: .sharedSecret(SecretBytes([0x01, 0x02]))).key.exposedCopy(),
                       Array("4711:".utf8) + [0x01, 0x02], "5.10.2.3: pin \":\" networkid")
    }

    func testIMSIsEncodeAsEFIMSIWithoutTheLengthByte() throws {
        XCTAssertEqual(try NetworkID.parseIMSI("404020506708200").key.exposedCopy().hexString, "4940205060072800")
        XCTAssertEqual(try NetworkID.parseIMSI("21407650123456").key.exposedCopy().hexString, "21417056103254F6")
        XCTAssertEqual(try NetworkID.parseESN("8000A1B2").key.exposedCopy(), [0x80, 0x00, 0xA1, 0xB2])
        XCTAssertEqual(try NetworkID.parseESN("12812345678").key.exposedCopy(), [128, 0xBC, 0x61, 0x4E], "decimal ESN: 128, 12345678")
        XCTAssertThrowsError(try NetworkID.parseIMSI("12AB")) { XCTAssertEqual($0 as? PushError, .invalidIMSI("12AB")) }
        XCTAssertThrowsError(try NetworkID.parseESN("12345")) { XCTAssertEqual($0 as? PushError, .invalidESN("12345")) }
    }

    func testHMACsMatchIndependentKnownAnswers() throws {
        let imsi = try NetworkID.parseIMSI("262011234567890")
        XCTAssertEqual(try PushAuthenticator.digest(body: body, secret: .userPIN(pin("1234"))).hexString,
                       "DAF86577207774719BFAD711C29A3E188CBD66E6")
        XCTAssertEqual(try PushAuthenticator.digest(body: body, secret: .networkID(imsi)).hexString,
                       "FB618376EF028B8140AB0A94EFE52502AF4726DE")
        XCTAssertEqual(try PushAuthenticator.digest(body: body, secret: .userPINNetworkID(pin: pin("1234"), networkID: imsi)).hexString,
                       "79364685338B425DD46F96DB3403155AB39E2CA5")
    }

    func testContentTypesParseExactlyByTheABNF() throws {
        let good = try PushContentType(parsing: "application/vnd.syncml.dm+wbxml;USERPIN;DAF86577207774719BFAD711C29A3E188CBD66E6")
        XCTAssertEqual(good.keyType, .userPIN)
        XCTAssertEqual(good.description, "application/vnd.syncml.dm+wbxml;USERPIN;DAF86577207774719BFAD711C29A3E188CBD66E6")
        XCTAssertEqual(try PushContentType(parsing: "application/vnd.syncml.dm+wbxml;OPERATOR-KEY;" + String(repeating: "ab", count: 20)).keyType,
                       .other("OPERATOR-KEY"))
        let digest = String(repeating: "0", count: 40)
        let cases: [(String, PushError)] = [
            ("application/vnd.syncml.dm+xml;USERPIN;\(digest)", .wrongMIMEType("application/vnd.syncml.dm+xml")),
            ("application/vnd.syncml.dm+wbxml", .missingKeyType),
            ("application/vnd.syncml.dm+wbxml;;\(digest)", .missingKeyType),
            ("application/vnd.syncml.dm+wbxml;USERPIN", .missingDigest),
            ("application/vnd.syncml.dm+wbxml; USERPIN;\(digest)", .invalidKeyType(" USERPIN")),
            ("application/vnd.syncml.dm+wbxml;USERPIN;\(digest.dropLast())", .digestLength(39)),
            ("application/vnd.syncml.dm+wbxml;USERPIN;\(digest.dropLast())G", .digestNotHex("\(digest.dropLast())G")),
            ("application/vnd.syncml.dm+wbxml;USERPIN;\(digest);x", .extraFields(1)),
            // RFC 5234 HEXDIG is ASCII: a fullwidth digit (U+FF10) is not hex, and counts as one character.
            ("application/vnd.syncml.dm+wbxml;USERPIN;\(digest.dropLast())\u{FF10}", .digestNotHex("\(digest.dropLast())\u{FF10}")),
            ("", .wrongMIMEType("(empty)")),
        ]
        for (value, expected) in cases {
            XCTAssertThrowsError(try PushContentType(parsing: value), value) { XCTAssertEqual($0 as? PushError, expected, value) }
        }
    }

    func testVerificationRefusesTamperingWrongPINsAndLegacyNetworkIDs() throws {
        let contentType = try PushAuthenticator.contentType(body: body, secret: .userPIN(pin("1234")), keyType: .userPIN)
        XCTAssertNoThrow(try PushAuthenticator.verify(body: body, contentType: contentType, secret: .userPIN(pin("1234")),
                                                      allowLegacyNetworkID: false))
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        XCTAssertThrowsError(try PushAuthenticator.verify(body: tampered, contentType: contentType, secret: .userPIN(pin("1234")),
                                                          allowLegacyNetworkID: false)) {
            XCTAssertEqual($0 as? PushError, .digestMismatch)
        }
        XCTAssertThrowsError(try PushAuthenticator.verify(body: body, contentType: contentType, secret: .userPIN(pin("1235")),
                                                          allowLegacyNetworkID: false)) {
            XCTAssertEqual($0 as? PushError, .digestMismatch)
        }
        let imsi = try NetworkID.parseIMSI("262011234567890")
        let legacy = try PushAuthenticator.contentType(body: body, secret: .networkID(imsi), keyType: .networkID)
        XCTAssertThrowsError(try PushAuthenticator.verify(body: body, contentType: legacy, secret: .networkID(imsi),
                                                          allowLegacyNetworkID: false)) {
            XCTAssertEqual($0 as? PushError, .legacyNetworkIDRefused)
        }
        XCTAssertNoThrow(try PushAuthenticator.verify(body: body, contentType: legacy, secret: .networkID(imsi),
                                                      allowLegacyNetworkID: true))
        let shared = NetworkID.sharedSecret(SecretBytes(Array("operator-shared-secret".utf8)))
        let modern = try PushAuthenticator.contentType(body: body, secret: .networkID(shared), keyType: .networkID)
        XCTAssertNoThrow(try PushAuthenticator.verify(body: body, contentType: modern, secret: .networkID(shared),
                                                      allowLegacyNetworkID: false))
        XCTAssertThrowsError(try PushAuthenticator.verify(body: body, contentType: modern, secret: .userPIN(pin("1234")),
                                                          allowLegacyNetworkID: false)) {
            XCTAssertEqual($0 as? PushError, .keyTypeMismatch(message: "NETWORKID", secret: "USERPIN"))
        }
    }

    func testGBAKeysUseTheSixBytePZero() throws {
        let keys = try GBAKeyDerivation.bootstrapKeys(ksNAF: SecretBytes(Array(0..<32)))
        XCTAssertEqual(keys.integrity.exposedCopy().hexString, "F2B9A4DAAABC9888CED1A407EB46639F0D5DC3F0031EAB38A7B5D968CBE2BDC3")
        XCTAssertEqual(keys.encryption.exposedCopy().hexString, "9DB62DD7B46739D61E79677C72F2ABFF289FAF9CE736DC4E837BE422571F3E3A")
        XCTAssertEqual(GBAKeyDerivation.integrityLabel, [0x64, 0x6D, 0x2D, 0x62, 0x69, 0x6B], "the spec's hex")
    }

    func testDigestAuthenticationMatchesKnownAnswers() throws {
        let md5 = try DMAuthentication.digest(username: "Bruce1", password: "OhBehave", nonce: Array("Nonce".utf8), algorithm: .md5)
        XCTAssertEqual(Data(md5).base64EncodedString(), "+MEIKFrF8Qdou2B1H2YmXw==")
        let sha = try DMAuthentication.digest(username: "Bruce1", password: "OhBehave", nonce: Array("Nonce".utf8), algorithm: .sha256)
        XCTAssertEqual(Data(sha).base64EncodedString(), "F1XSfiiUEwT7gQZkX0+gb9WpmsW2a1sGwDOmbqXKFnw=")
    }

    func testXSyncMLHMACSignsVerifiesAndReadsBothSeparators() throws {
        let key = SecretBytes(Array("integrity-key".utf8))
        let header = try SyncMLHMACHeader.sign(message: Array("<SyncML/>".utf8), key: key, serverID: "dm.foo.org",
                                              timestamp: "2012-01-01T13:04:20Z")
        XCTAssertEqual(header.description,
                       "algorithm=HMAC-SHA256, ServerId=\"dm.foo.org\", Timestamp=\"2012-01-01T13:04:20Z\", mac=9Cly2Joo0ulPLoWZ2hgRlzGGTn8d5KlScqi5de3GsU0=")
        let parsed = try SyncMLHMACHeader(parsing: header.description)
        XCTAssertNoThrow(try parsed.verify(message: Array("<SyncML/>".utf8), key: key))
        XCTAssertThrowsError(try parsed.verify(message: Array("<SyncML />".utf8), key: key)) {
            XCTAssertEqual($0 as? HMACHeaderError, .macMismatch)
        }
        // The specification's example uses semicolons and quotes; its mac is
        // 46 base64 characters, which no base64 decoder accepts.
        XCTAssertThrowsError(try SyncMLHMACHeader(parsing: """
            algorithm="HMAC-SHA256"; ServerId="dm.foo.org"; Timestamp="2012-01-01T13:04:20Z"; mac="
            NTI2OTJhMDAwNjYxODkwYmQ3NWUxN2RhN2ZmYmJlMzkay2="
            """)) { XCTAssertEqual($0 as? HMACHeaderError, .malformed("mac is not base64")) }
        let semicolons = try SyncMLHMACHeader(parsing: """
            algorithm="HMAC-SHA256"; ServerId="dm.foo.org"; Timestamp="2012-01-01T13:04:20Z"; mac="
            9Cly2Joo0ulPLoWZ2hgRlzGGTn8d5KlScqi5de3GsU0="
            """)
        XCTAssertEqual(semicolons, parsed)
        XCTAssertThrowsError(try SyncMLHMACHeader(parsing: "algorithm=HMAC-SHA256, mac=AAAA")) {
            XCTAssertEqual($0 as? HMACHeaderError, .missing("Timestamp"))
        }
    }
}
