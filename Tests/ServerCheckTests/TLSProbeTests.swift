import Foundation
import ServerCheck
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
                             serverIdentity: Array("bootstrap.example.com".utf8), clientSecret: key)
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
                                 serverIdentity: try pki.bytes("ca.der"), clientSecret: try pki.bytes("client.key.der"))
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

    func testNetworkFailuresHaveTheirOwnErrors() throws {
        let closed = TLSPeer.freePort()
        XCTAssertThrowsError(try TLSProbe(timeout: 2).check(pskCredentials(port: closed, key: psk))) { error in
            XCTAssertEqual(error as? ServerCheckError, .connectionRefused(host: "127.0.0.1", port: closed))
        }
        let unknown = BootstrapCredentials(serverURI: "https://no-such-host.invalid:443", mode: .psk, clientIdentity: identity,
                                           serverIdentity: [], clientSecret: psk)
        XCTAssertThrowsError(try TLSProbe(timeout: 2).check(unknown)) { error in
            guard case .dnsFailure? = error as? ServerCheckError else { return XCTFail("\(error)") }
        }
    }

    func testServerURIsAndModes() throws {
        func endpoint(_ uri: String) throws -> String {
            let parsed = try BootstrapCredentials(serverURI: uri, mode: .psk, clientIdentity: [], serverIdentity: [],
                                                  clientSecret: []).endpoint()
            return "\(parsed.host) \(parsed.port)"
        }
        XCTAssertEqual(try endpoint("https://www.bsdmserver.com:443"), "www.bsdmserver.com 443")
        XCTAssertEqual(try endpoint("111.222.33.44"), "111.222.33.44 443")
        XCTAssertEqual(try endpoint("https://[2001:db8::1]:8443/dm"), "2001:db8::1 8443")
        XCTAssertThrowsError(try endpoint("https://:99999"))
        XCTAssertEqual(try BootstrapCredentials.mode(from: Array("X.509".utf8)), .x509)
        XCTAssertThrowsError(try BootstrapCredentials.mode(from: Array("SRP".utf8)))
    }
}
