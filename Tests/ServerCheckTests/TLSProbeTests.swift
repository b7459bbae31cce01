import CardCrypto
import Foundation
@testable import ServerCheck
import TestSupport
import XCTest

/// The bootstrap-server check against a real peer: openssl s_server on loopback.
final class TLSProbeTests: XCTestCase {
    var folder: URL!
    let psk = (0..<16).map { UInt8($0 * 7 + 1) }
    var pskHex: String { psk.map { String(format: "%02x", $0) }.joined() }
    let identity = Array(String(repeating: "device-490154203237518/", count: 6).utf8)

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func pskCredentials(port: UInt16, key: [UInt8]) -> BootstrapCredentials {
        BootstrapCredentials(serverURI: "https://127.0.0.1:\(port)", mode: .psk, clientIdentity: identity,
                             serverIdentity: Array("bootstrap.example.com".utf8), clientSecret: SecretBytes(key))
    }

    func pskServer(key: String, extra: [String] = ["-tls1_2"]) throws -> TLSPeer {
        try TLSPeer(arguments: ["-nocert", "-psk", key, "-psk_identity", String(decoding: identity, as: UTF8.self),
                                "-psk_hint", "bootstrap.example.com"] + extra, folder: folder)
    }

    func testPSKWithTheRightKeyAndALongIdentity() throws {
        XCTAssertGreaterThanOrEqual(identity.count, 128)
        let server = try pskServer(key: pskHex)
        let report = try TLSProbe(timeout: 5).check(pskCredentials(port: server.port, key: psk))
        XCTAssertEqual(report.protocolVersion, "TLSv1.2")
        XCTAssertTrue(TLSProbe.pskCipherSuites.contains(report.cipherSuite), report.cipherSuite)
        XCTAssertEqual(report.serverIdentity, "bootstrap.example.com")
    }

    func testPSKWithAWrongKeyIsNamedAsSuch() throws {
        let server = try pskServer(key: String(repeating: "ab", count: 16))
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(pskCredentials(port: server.port, key: psk))) { error in
            XCTAssertEqual(error as? ServerCheckError, .wrongPSK, "\(error)")
        }
    }

    func testAServerOfferingOnlyTLS10IsRefused() throws {
        let server = try pskServer(key: pskHex, extra: ["-tls1", "-cipher", "PSK:@SECLEVEL=0"])
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(pskCredentials(port: server.port, key: psk))) { error in
            guard case .protocolTooOld? = error as? ServerCheckError else { return XCTFail("\(error)") }
        }
    }

    func testX509WithATestCAAndAnUntrustedServer() throws {
        let pki = TestPKI(folder: folder)
        try pki.issue("ca", commonName: "dmboot test CA", by: nil)
        try pki.issue("server", commonName: "bootstrap.example.com", by: "ca", serverName: "bootstrap.example.com")
        try pki.issue("client", commonName: "device-490154203237518", by: "ca")
        try pki.issue("rogue-ca", commonName: "rogue CA", by: nil)
        try pki.issue("rogue", commonName: "bootstrap.example.com", by: "rogue-ca", serverName: "bootstrap.example.com")
        let credentials = { (port: UInt16) in
            BootstrapCredentials(serverURI: "127.0.0.1:\(port)", mode: .x509, clientIdentity: try pki.bytes("client.der"),
                                 serverIdentity: try pki.bytes("ca.der"), clientSecret: SecretBytes(try pki.bytes("client.key.der")))
        }
        let good = try TLSPeer(arguments: ["-cert", "server.pem", "-key", "server.key", "-CAfile", "ca.pem", "-Verify", "1",
                                           "-tls1_2"], folder: folder)
        let report = try TLSProbe(timeout: 5).check(try credentials(good.port))
        XCTAssertEqual(report.protocolVersion, "TLSv1.2")
        XCTAssertTrue(TLSProbe.x509CipherSuites.contains(report.cipherSuite), report.cipherSuite)
        XCTAssertEqual(report.serverIdentity, "/CN=bootstrap.example.com")
        XCTAssertEqual(report.serverIssuer, "/CN=dmboot test CA")

        let rogue = try TLSPeer(arguments: ["-cert", "rogue.pem", "-key", "rogue.key", "-tls1_2"], folder: folder)
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(try credentials(rogue.port))) { error in
            guard case .certificateNotTrusted? = error as? ServerCheckError else { return XCTFail("\(error)") }
        }
    }

    func testTheCRsTLS11FloorIsReachable() throws {
        // The CR (session TLS security, 9.2.2): client and server SHALL support TLS 1.1.
        let server = try pskServer(key: pskHex, extra: ["-tls1_1", "-cipher", "PSK-AES128-CBC-SHA:@SECLEVEL=0"])
        let report = try TLSProbe(timeout: 5).check(pskCredentials(port: server.port, key: psk))
        XCTAssertEqual(report.protocolVersion, "TLSv1.1")
        XCTAssertEqual(report.cipherSuite, "PSK-AES128-CBC-SHA")
    }

    func testAServerKeyWeakerThan112BitsIsRefusedDespiteTheLoweredSecurityLevel() throws {
        let pki = TestPKI(folder: folder)
        try pki.run(["req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", "weak.key", "-subj", "/CN=weak",
                     "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-out", "weak.pem"])
        try pki.run(["x509", "-in", "weak.pem", "-outform", "DER", "-out", "weak.der"])
        try pki.issue("client", commonName: "device-490154203237518", by: nil)
        let server = try TLSPeer(arguments: ["-cert", "weak.pem", "-key", "weak.key", "-tls1_2", "-cipher", "ALL:@SECLEVEL=0"],
                                 folder: folder)
        let credentials = BootstrapCredentials(serverURI: "127.0.0.1:\(server.port)", mode: .x509,
                                               clientIdentity: try pki.bytes("client.der"), serverIdentity: try pki.bytes("weak.der"),
                                               clientSecret: SecretBytes(try pki.bytes("client.key.der")))
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(credentials)) { error in
            guard case .weakKey(let detail)? = error as? ServerCheckError else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("80 bits"), detail)
        }
    }

    func testTheServersOwnCertificateIsAPinnedLeaf() throws {
        // The CR (12.2, ServerPublicKeyPSKIdentity): "the Server's Certificate (X509 Certificate mode)".
        let pki = TestPKI(folder: folder)
        try pki.issue("ca", commonName: "dmboot test CA", by: nil)
        try pki.issue("server", commonName: "bootstrap.example.com", by: "ca", serverName: "bootstrap.example.com")
        try pki.issue("other", commonName: "bootstrap.example.com", by: "ca", serverName: "bootstrap.example.com")
        try pki.issue("client", commonName: "device-490154203237518", by: "ca")
        let credentials = { (port: UInt16) in
            BootstrapCredentials(serverURI: "https://127.0.0.1:\(port)", mode: .x509, clientIdentity: try pki.bytes("client.der"),
                                 serverIdentity: try pki.bytes("server.der"), clientSecret: SecretBytes(try pki.bytes("client.key.der")))
        }
        let pinned = try TLSPeer(arguments: ["-cert", "server.pem", "-key", "server.key", "-tls1_2"], folder: folder)
        XCTAssertEqual(try TLSProbe(timeout: 5).check(try credentials(pinned.port)).serverIdentity, "/CN=bootstrap.example.com")
        // Same CA, same name, but not the pinned certificate.
        let sibling = try TLSPeer(arguments: ["-cert", "other.pem", "-key", "other.key", "-tls1_2"], folder: folder)
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(try credentials(sibling.port))) { error in
            guard case .certificateNotTrusted? = error as? ServerCheckError else { return XCTFail("\(error)") }
        }
    }

    func testNoServerNameIndicationForAnIPLiteral() throws {
        // RFC 6066 section 3: literal IPv4 and IPv6 addresses are not permitted in "HostName".
        // The peer answers any SNI but bootstrap.example.com with a fatal alert.
        let pki = TestPKI(folder: folder)
        try pki.issue("ca", commonName: "dmboot test CA", by: nil)
        try pki.issue("server", commonName: "bootstrap.example.com", by: "ca", serverName: "bootstrap.example.com")
        try pki.issue("client", commonName: "device-490154203237518", by: "ca")
        let sniStrict = ["-cert", "server.pem", "-key", "server.key", "-cert2", "server.pem", "-key2", "server.key",
                         "-servername", "bootstrap.example.com", "-servername_fatal", "-tls1_2"]
        let credentials = { (uri: String) in
            BootstrapCredentials(serverURI: uri, mode: .x509, clientIdentity: try pki.bytes("client.der"),
                                 serverIdentity: try pki.bytes("ca.der"), clientSecret: SecretBytes(try pki.bytes("client.key.der")))
        }
        let literal = try TLSPeer(arguments: sniStrict, folder: folder)
        XCTAssertNoThrow(try TLSProbe(timeout: 5).check(try credentials("https://127.0.0.1:\(literal.port)")))
        XCTAssertTrue(TLSProbe.isIPLiteral("2001:db8::1"))
        XCTAssertFalse(TLSProbe.isIPLiteral("bootstrap.example.com"))
        // A host name is sent: "localhost" is not the name the peer expects, so it refuses.
        let named = try TLSPeer(arguments: sniStrict, folder: folder)
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(try credentials("https://localhost:\(named.port)"))) { error in
            guard case .handshakeFailed(let reason)? = error as? ServerCheckError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("unrecognized name"), reason)
        }
    }

    /// The name check is armed in every X.509 probe: a pinned certificate
    /// that names neither the host nor the address of the ServerURI is refused.
    func testAPinnedCertificateForAnotherHostOrAddressIsRefused() throws {
        let pki = TestPKI(folder: folder)
        try pki.run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "named.key",
                     "-subj", "/CN=bootstrap.example.com", "-addext", "subjectAltName=DNS:bootstrap.example.com", "-days", "2",
                     "-out", "named.pem"])
        try pki.run(["x509", "-in", "named.pem", "-outform", "DER", "-out", "named.der"])
        try pki.issue("client", commonName: "device-490154203237518", by: nil)
        for (uri, mismatch) in [("https://127.0.0.1", "IP address mismatch"), ("https://localhost", "hostname mismatch")] {
            let server = try TLSPeer(arguments: ["-cert", "named.pem", "-key", "named.key", "-tls1_2"], folder: folder)
            let credentials = BootstrapCredentials(serverURI: "\(uri):\(server.port)", mode: .x509,
                                                   clientIdentity: try pki.bytes("client.der"), serverIdentity: try pki.bytes("named.der"),
                                                   clientSecret: SecretBytes(try pki.bytes("client.key.der")))
            XCTAssertThrowsError(try TLSProbe(timeout: 5).check(credentials)) { error in
                XCTAssertEqual(error as? ServerCheckError, .certificateNotTrusted(reason: mismatch), "\(error)")
            }
        }
    }

    /// A ServerURI host with a NUL: the resolver and the socket see
    /// "localhost", but the name check gets the whole name, which OpenSSL
    /// refuses (x509_vpm.c); the probe stops there instead of checking
    /// "localhost" or nothing.
    func testAHostOpenSSLCannotCheckEndsTheProbeBeforeTheHandshake() throws {
        let pki = TestPKI(folder: folder)
        try pki.issue("ca", commonName: "dmboot test CA", by: nil)
        try pki.issue("server", commonName: "localhost", by: "ca", serverName: "localhost")
        try pki.issue("client", commonName: "device-490154203237518", by: "ca")
        let server = try TLSPeer(arguments: ["-cert", "server.pem", "-key", "server.key", "-tls1_2"], folder: folder)
        let credentials = BootstrapCredentials(serverURI: "https://localhost\u{0}.attacker.test:\(server.port)", mode: .x509,
                                               clientIdentity: try pki.bytes("client.der"), serverIdentity: try pki.bytes("ca.der"),
                                               clientSecret: SecretBytes(try pki.bytes("client.key.der")))
        XCTAssertThrowsError(try TLSProbe(timeout: 5).check(credentials)) { error in
            XCTAssertEqual(error as? ServerCheckError, .hostNotCheckable("localhost\\0.attacker.test"), "\(error)")
            XCTAssertEqual((error as? ServerCheckError)?.exitStatus, .bootstrapCredentialsUnusable)
        }
    }

    /// Credentials end up in error reports and debugger output; the secret shows only its length there.
    func testCredentialsNeverShowTheirSecret() {
        let credentials = pskCredentials(port: 443, key: psk)
        for text in [String(describing: credentials), String(reflecting: credentials), "\(Mirror(reflecting: credentials).children.map { $0.value })"] {
            XCTAssertTrue(text.contains("<redacted 16 bytes>"), text)
            XCTAssertFalse(text.contains(psk.map(String.init).joined(separator: ", ")), text)
        }
    }

    func testNetworkFailuresHaveTheirOwnErrors() throws {
        let closed = try ClosedPort()
        XCTAssertThrowsError(try TLSProbe(timeout: 2).check(pskCredentials(port: closed.port, key: psk))) { error in
            XCTAssertEqual(error as? ServerCheckError, .connectionRefused(host: "127.0.0.1", port: closed.port))
        }
        let unknown = BootstrapCredentials(serverURI: "https://no-such-host.invalid:443", mode: .psk, clientIdentity: identity,
                                           serverIdentity: [], clientSecret: SecretBytes(psk))
        XCTAssertThrowsError(try TLSProbe(timeout: 2).check(unknown)) { error in
            guard case .dnsFailure? = error as? ServerCheckError else { return XCTFail("\(error)") }
        }
    }

    func testServerURIsAndModes() throws {
        func endpoint(_ uri: String) throws -> String {
            let parsed = try BootstrapCredentials(serverURI: uri, mode: .psk, clientIdentity: [], serverIdentity: [],
                                                  clientSecret: SecretBytes([])).endpoint()
            return "\(parsed.host) \(parsed.port)"
        }
        XCTAssertEqual(try endpoint("https://www.bsdmserver.com:443"), "www.bsdmserver.com 443")
        XCTAssertEqual(try endpoint("111.222.33.44"), "111.222.33.44 443")
        XCTAssertEqual(try endpoint("https://[2001:db8::1]:8443/dm"), "2001:db8::1 8443")
        XCTAssertThrowsError(try endpoint("https://:99999"))
        XCTAssertEqual(try BootstrapCredentials.mode(from: Array("X.509".utf8)), .x509)
        XCTAssertThrowsError(try BootstrapCredentials.mode(from: Array("SRP".utf8)))
        // The one-byte codes of OMA LwM2M's Security Mode (1.0, Appendix E.1, resource 2): 0 PSK, 2 Certificate.
        XCTAssertEqual(try BootstrapCredentials.mode(from: [0x00]), .psk)
        XCTAssertEqual(try BootstrapCredentials.mode(from: [0x02]), .x509)
        XCTAssertThrowsError(try BootstrapCredentials.mode(from: [0x01])) { error in
            XCTAssertEqual(error as? ServerCheckError, .unknownSecurityMode("0x01"))
        }
    }
}
