@testable import CardCrypto
import Foundation
import TestSupport
import XCTest

/// Setting up a TLS client session: every check OpenSSL is asked to arm is
/// refused loudly when OpenSSL will not arm it. The inputs below reach the
/// OpenSSL calls and are refused by OpenSSL 3 itself (crypto/x509/x509_vpm.c,
/// ssl/s3_lib.c), so these tests need no seam: each one would fail if a
/// result were ignored, since the session would then be made.
final class TLSClientSessionTests: XCTestCase {
    /// A client certificate and its key (EC P-256, made by the openssl command), DER.
    struct ClientIdentity {
        let certificate: [UInt8]
        let key: [UInt8]
    }

    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-session-\(UUID().uuidString)")
    static let identities = Result { try [makeIdentity("a"), makeIdentity("b")] }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
    }

    static func makeIdentity(_ name: String) throws -> ClientIdentity {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let pki = TestPKI(folder: folder)
        try pki.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).pem",
                     "-subj", "/CN=\(name)", "-days", "1", "-outform", "DER", "-out", "\(name).der"])
        try pki.run(["pkcs8", "-topk8", "-nocrypt", "-in", "\(name).pem", "-outform", "DER", "-out", "\(name).key.der"])
        func read(_ file: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: folder.appendingPathComponent(file))) }
        return ClientIdentity(certificate: try read("\(name).der"), key: try read("\(name).key.der"))
    }

    func configuration(peer: TLSPeerName = .dnsName("bootstrap.example.com"), serverName: String? = "bootstrap.example.com",
                       key: [UInt8]? = nil, anchors: [[UInt8]]? = nil) throws -> TLSClientConfiguration {
        let identities = try Self.identities.get()
        let client = identities[0]
        return TLSClientConfiguration(
            minimumVersion: .tls1_1, maximumVersion: .tls1_2, cipherList: "ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0",
            serverName: serverName,
            authentication: .certificate(TLSCertificateAuthentication(
                certificate: client.certificate, privateKey: SecretBytes(key ?? client.key),
                trustAnchors: anchors ?? [identities[1].certificate], trustAnchorFile: nil, acceptsPartialChain: true,
                expectedPeer: peer)))
    }

    func assertRefused(_ configuration: TLSClientConfiguration, _ expected: TLSClientError,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TLSClientSession(configuration), file: file, line: line) { error in
            XCTAssertEqual(error as? TLSClientError, expected, file: file, line: line)
        }
        XCTAssertEqual(CryptoError.drainOpenSSLErrors(), "no detail", "the refusal left errors queued", file: file, line: line)
    }

    /// The control for the refusals below: the same set-up with well-formed names is made.
    func testWellFormedNamesAndAddressesAreArmed() throws {
        for peer in [TLSPeerName.dnsName("bootstrap.example.com"), .ipAddress("127.0.0.1"), .ipAddress("2001:db8::1")] {
            XCTAssertNoThrow(try TLSClientSession(configuration(peer: peer)), "\(peer)")
        }
        XCTAssertNoThrow(try TLSClientSession(configuration(serverName: String(repeating: "a", count: 255))))
    }

    /// x509_vpm.c (int_x509_param_set_hosts) refuses a name whose given
    /// length holds a NUL before its last byte: the name goes with its
    /// length, so OpenSSL sees the NUL and the check is never armed on
    /// "bootstrap.example.com" alone.
    func testOpenSSLRefusesAHostNameWithAnEmbeddedNUL() throws {
        let name = "bootstrap.example.com\u{0}.attacker.test"
        assertRefused(try configuration(peer: .dnsName(name)), .peerNameRefused(.dnsName(name)))
        XCTAssertEqual("\(TLSClientError.peerNameRefused(.dnsName(name)))",
                       "OpenSSL cannot check the server's certificate against bootstrap.example.com\\0.attacker.test")
    }

    /// X509_VERIFY_PARAM_set1_ip_asc fails when ossl_a2i_ipadd cannot read the text as an address.
    func testOpenSSLRefusesAnAddressItCannotParse() throws {
        for address in ["192.0.2.256", "2001:db8::1::2", "bootstrap.example.com"] {
            assertRefused(try configuration(peer: .ipAddress(address)), .peerNameRefused(.ipAddress(address)))
        }
    }

    /// OpenSSL takes an empty name as "no name" (the check off), and reads an
    /// address only up to a NUL: both are refused before OpenSSL sees them.
    func testAnEmptyNameOrAnAddressWithANULIsRefusedBeforeOpenSSL() throws {
        assertRefused(try configuration(peer: .dnsName("")), .peerNameRefused(.dnsName("")))
        assertRefused(try configuration(peer: .ipAddress("127.0.0.1\u{0}junk")), .peerNameRefused(.ipAddress("127.0.0.1\u{0}junk")))
    }

    /// SSL_set_tlsext_host_name (ssl/s3_lib.c) refuses an empty name and one
    /// over TLSEXT_MAXLEN_host_name (255) bytes.
    func testOpenSSLRefusesAServerNameItCannotSend() throws {
        let long = String(repeating: "a", count: 256)
        assertRefused(try configuration(serverName: long), .serverNameRefused(long))
        assertRefused(try configuration(serverName: ""), .serverNameRefused(""))
    }

    func testUnusableCredentialsAreNamed() throws {
        let identities = try Self.identities.get()
        assertRefused(try configuration(key: identities[1].key), .privateKeyMismatch)
        assertRefused(try configuration(key: [0x30, 0x03, 0x02, 0x01, 0x00]), .privateKeyUnreadable)
        assertRefused(try configuration(anchors: [identities[1].certificate, [0x30, 0x00]]), .trustAnchorUnreadable(index: 1))
    }
}
