import DMBootstrap
import XCTest

/// Every encoding and document type of the same bootstrap gives the same accounts.
final class FormatEquivalenceTests: XCTestCase {
    func decode(_ name: String, _ format: BootstrapDecoder.Format = .auto) throws -> DecodedBootstrap {
        try BootstrapDecoder().decode(Fixtures.bytes(name), format: format)
    }

    func testSyncMLInXMLAndWBXMLAndTNDSGiveTheSameAccount() throws {
        let xml = try decode("dm12-psk.xml")
        let wbxml = try decode("dm12-psk.wbxml")
        let tndsXML = try decode("dm12-psk-tnds.xml")
        let tndsWBXML = try decode("dm12-psk-tnds.wbxml")
        XCTAssertEqual("\(xml.encoding) \(xml.documentType)", "xml syncML")
        XCTAssertEqual("\(wbxml.encoding) \(wbxml.documentType) \(wbxml.publicID ?? "")", "wbxml syncML 0x1201")
        XCTAssertEqual("\(tndsWBXML.encoding) \(tndsWBXML.documentType)", "wbxml tnds")
        XCTAssertEqual(tndsWBXML.publicID, "-//OMA//DTD-DM-DDF 1.2//EN")
        XCTAssertEqual(xml.accounts.map(\.nodes), wbxml.accounts.map(\.nodes))
        XCTAssertEqual(xml.accounts.map(\.nodes), tndsXML.accounts.map(\.nodes))
        XCTAssertEqual(xml.accounts.map(\.nodes), tndsWBXML.accounts.map(\.nodes))
        XCTAssertEqual(xml.accounts.map(\.name), ["DemoServer"])
    }

    func testTheDMAccountKeepsFormatsAndExactBytes() throws {
        let account = try XCTUnwrap(try decode("dm12-psk.wbxml").accounts.first)
        XCTAssertEqual(account.serverID, "dmboot-demo-server")
        XCTAssertEqual(account.node("AppAddr/Srv/Port/P1/PortNbr"), DMNode(path: "AppAddr/Srv/Port/P1/PortNbr", format: .int,
                                                                         value: Array("8443".utf8)))
        XCTAssertEqual(account.node("Auth/Bootstrap/ClientSecretKey")?.value, Array(0...31))
        XCTAssertEqual(account.node("Auth/Bootstrap/ClientSecretKey")?.format, .b64)
        XCTAssertEqual(account.node("Auth/Bootstrap/ClientPublicKeyPSKIdentity")?.value?.count, 144,
                       "PSK identities of at least 128 bytes")
        XCTAssertEqual(account.text("Auth/Bootstrap/SecMode"), "PSK")
        XCTAssertEqual(account.node("Auth/Bootstrap")?.format, .node)
        XCTAssertEqual(account.instances(of: "AppAuth"), ["Cli", "Srv"])
        XCTAssertTrue(account.node("AppAuth/Srv/AAuthSecret")!.isSecret)
        XCTAssertFalse(account.node("AppAuth/Srv/AAuthName")!.isSecret)
    }

    func testAtomicAndReplaceAreRead() throws {
        let decoded = try decode("dm12-x509.xml")
        XCTAssertEqual(decoded.accounts.first?.name, "Backup")
        XCTAssertEqual(decoded.accounts.first?.text("Auth/Bootstrap/SecMode"), "X509")
        XCTAssertTrue(decoded.ignoredCommands.isEmpty)
    }

    func testLegacyDM112AccountsMapOntoTheDM12Object() throws {
        for name in ["dm112-legacy.xml", "dm112-legacy.wbxml"] {
            let account = try XCTUnwrap(try decode(name).accounts.first, name)
            XCTAssertEqual(account.source, .legacySyncML)
            XCTAssertEqual(account.serverID, "legacy-dm")
            XCTAssertEqual(account.text("AppAddr/1/Addr"), "http://legacy-dm.example.org/manage")
            XCTAssertEqual(account.text("AppAddr/1/AddrType"), "URI", "DM 1.1.2 AddrType 1 is an HTTP URI")
            XCTAssertEqual(account.text("AppAddr/1/Port/1/PortNbr"), "8080")
            XCTAssertEqual(account.text("PrefConRef"), "GPRS-APN")
            XCTAssertEqual(account.text("AAuthPref"), "DIGEST", "syncml:auth-md5")
            XCTAssertEqual(account.text("AppAuth/SRV/AAuthLevel"), "SRVCRED")
            XCTAssertEqual(account.text("AppAuth/SRV/AAuthSecret"), "legacy-server-pw")
            XCTAssertEqual(account.node("AppAuth/SRV/AAuthData")?.value, Array("server-nonce".utf8))
            XCTAssertEqual(account.text("AppAuth/CLI/AAuthName"), "device-legacy")
            XCTAssertEqual(account.text("AppAuth/CLI/AAuthSecret"), "legacy-client-pw")
            XCTAssertTrue(AccountValidator().problems(in: account).isEmpty, name)
        }
    }

    func testClientProvisioningW7MapsOntoDMAcc() throws {
        let xml = try decode("cp-w7.xml", .cp)
        let wbxml = try decode("cp-w7.wbxml", .cp)
        XCTAssertEqual(xml.accounts.map(\.nodes), wbxml.accounts.map(\.nodes))
        let account = try XCTUnwrap(wbxml.accounts.first)
        XCTAssertEqual(account.name, "cp-dm-server")
        XCTAssertEqual(account.serverID, "cp-dm-server", "PROVIDER-ID")
        XCTAssertEqual(account.text("Name"), "CP provisioned DM server")
        XCTAssertEqual(account.text("ToConRef/1/ConRef"), "INTERNET")
        XCTAssertEqual(account.text("AppAddr/1/Addr"), "https://cp-dm.example.com/dm")
        XCTAssertEqual(account.text("AppAddr/1/Port/1/PortNbr"), "443")
        // APPSRV carries the device's own credentials (DMAcc CLCRED), CLIENT the server's (SRVCRED): W7KnownAnswerTests cites why.
        XCTAssertEqual(account.text("AppAuth/1/AAuthLevel"), "CLCRED", "APPSRV")
        XCTAssertEqual(account.text("AppAuth/1/AAuthName"), "cp-device")
        XCTAssertEqual(account.text("AppAuth/1/AAuthSecret"), "cp-client-secret")
        XCTAssertEqual(account.node("AppAuth/1/AAuthData")?.value, Array("cp-client-nonce".utf8), "AAUTHDATA is base64")
        XCTAssertEqual(account.text("AppAuth/2/AAuthLevel"), "SRVCRED", "CLIENT")
        XCTAssertEqual(account.text("AppAuth/2/AAuthName"), "cp-dm-server")
        XCTAssertEqual(account.text("AppAuth/2/AAuthSecret"), "cp-server-secret")
        XCTAssertEqual(account.node("AppAuth/2/AAuthData")?.value, Array("cp-server-nonce".utf8))
    }

    func testRequestingTheWrongDocumentTypeSaysWhatWasFound() {
        XCTAssertThrowsError(try decode("dm12-psk.xml", .cp)) {
            XCTAssertEqual($0 as? BootstrapError, .formatMismatch(requested: "cp", found: "syncml-dm"))
        }
        XCTAssertThrowsError(try decode("cp-w7.wbxml", .tnds)) {
            XCTAssertEqual($0 as? BootstrapError, .formatMismatch(requested: "tnds", found: "cp"))
        }
    }

    func testEveryFixtureIsValid() throws {
        for name in ["dm12-psk.xml", "dm12-psk.wbxml", "dm12-x509.wbxml", "dm12-psk-tnds.wbxml", "dm112-legacy.wbxml",
                     "cp-w7.wbxml"] {
            XCTAssertNoThrow(try AccountValidator().validate(try decode(name)), name)
        }
    }
}
