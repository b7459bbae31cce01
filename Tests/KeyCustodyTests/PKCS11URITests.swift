@testable import KeyCustody
import XCTest

/// RFC 7512 parsing: the attributes dmboot uses, percent-decoding (2.3),
/// at most one of each attribute (2.3), and what dmboot refuses.
final class PKCS11URITests: XCTestCase {
    func testTheIssuesExampleParses() throws {
        let uri = try PKCS11URI("pkcs11:token=Factory;object=kmc?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/dmboot/pin")
        XCTAssertEqual(uri.token, "Factory")
        XCTAssertEqual(uri.object, "kmc")
        XCTAssertNil(uri.id)
        XCTAssertEqual(uri.modulePath, "/usr/lib/softhsm/libsofthsm2.so")
        XCTAssertEqual(uri.pinSource, "file:/etc/dmboot/pin")
        XCTAssertEqual("\(uri)", "pkcs11:token=Factory;object=kmc")
    }

    func testValuesArePercentDecoded() throws {
        // RFC 7512 section 3 uses "The%20Software%20PKCS%2311%20Softtoken" as a token label.
        let uri = try PKCS11URI("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;object=my%20key;id=%01%a2;type=secret-key?module-path=/m.so")
        XCTAssertEqual(uri.token, "The Software PKCS#11 Softtoken")
        XCTAssertEqual(uri.object, "my key")
        XCTAssertEqual(uri.id, [0x01, 0xA2])
    }

    func testAPINInTheURIIsRefused() {
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=T;object=k?module-path=/m.so&pin-value=1234")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .pinInURI)
        }
    }

    func testARepeatedAttributeIsRefused() {
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A;token=B;object=k?module-path=/m.so")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .repeatedAttribute("token"))
        }
    }

    func testWithoutAModulePathThereIsNothingToLoad() {
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A;object=k")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .noModulePath)
        }
    }

    func testFiltersDmbootDoesNotApplyAreRefused() {
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A;object=k;serial=1234?module-path=/m.so")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .unsupportedAttribute("serial"))
        }
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A;colour=blue?module-path=/m.so")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .unknownAttribute("colour"))
        }
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A;object=k;type=private?module-path=/m.so")) { error in
            XCTAssertEqual(error as? PKCS11URIError, .notASecretKey("private"))
        }
    }

    func testABrokenPercentEscapeIsRefused() {
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A%2;object=k?module-path=/m.so"))
        XCTAssertThrowsError(try PKCS11URI("pkcs11:token=A%zz;object=k?module-path=/m.so"))
    }
}
