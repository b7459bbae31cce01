@testable import DMBootstrap
import XCTest

/// The w7 (OMA Client Provisioning → DMAcc) mapping against public texts
/// written by others, not against our own fixture:
/// - [CSP] Microsoft, "w7 APPLICATION CSP" (MicrosoftDocs/windows-itpro-docs,
///   windows/client-management/mdm/w7-application-csp.md), APPAUTH/AAUTHLEVEL,
///   APPAUTH/AAUTHTYPE, APPAUTH/AAUTHDATA.
/// - [DMACC] Microsoft, "DMAcc CSP" (same repository, dmacc-csp.md),
///   ObjectName/AAuthlevel, ObjectName/AddrType.
/// - [WM65] Microsoft, "Bootstrapping To Use An OMA DM Server" (Windows
///   Mobile 6.5, msdn bb737552), the example w7 bootstrap message.
final class W7KnownAnswerTests: XCTestCase {
    func decode(_ xml: String) throws -> DMAccount {
        let accounts = try BootstrapDecoder().decode(Array(xml.utf8), format: .cp).accounts
        return try XCTUnwrap(accounts.first)
    }

    /// [WM65]'s example message, with the values it gives: the APPSRV block
    /// holds "clientname"/"clientsecret" and the client nonce, the CLIENT
    /// block "serversecret" and the server nonce, both nonces base64.
    static let windowsMobileExample = """
    <wap-provisioningdoc version="1.1">
      <characteristic type="APPLICATION">
        <parm name="APPID" value="w7"/>
        <parm name="PROVIDER-ID" value="servername"/>
        <parm name="NAME" value="Description of server"/>
        <parm name="ADDR" value="https://www.mgmtserver.com:8080/manage"/>
        <parm name="TO-NAPID" value="ABCGPRS1"/>
        <parm name="ROLE" value="24"/>
        <characteristic type="APPAUTH">
          <parm name="AAUTHLEVEL" value="APPSRV"/>
          <parm name="AAUTHTYPE" value="DIGEST"/>
          <parm name="AAUTHNAME" value="clientname"/>
          <parm name="AAUTHSECRET" value="clientsecret"/>
          <parm name="AAUTHDATA" value="Tm9uY2U="/>
        </characteristic>
        <characteristic type="APPAUTH">
          <parm name="AAUTHLEVEL" value="CLIENT"/>
          <parm name="AAUTHTYPE" value="DIGEST"/>
          <parm name="AAUTHSECRET" value="serversecret"/>
          <parm name="AAUTHDATA" value="U2VydmVyTm9uY2U="/>
        </characteristic>
      </characteristic>
    </wap-provisioningdoc>
    """

    func testAPPSRVCarriesTheClientCredentialsAndBecomesCLCRED() throws {
        // [CSP] AAUTHLEVEL: APPSRV = the client authenticates itself to the DM server;
        // [DMACC] AAuthlevel: CLCRED = the client authenticates itself to the DM server.
        let account = try decode(Self.windowsMobileExample)
        XCTAssertEqual(account.text("AppAuth/1/AAuthLevel"), "CLCRED")
        XCTAssertEqual(account.text("AppAuth/1/AAuthName"), "clientname")
        XCTAssertEqual(account.text("AppAuth/1/AAuthSecret"), "clientsecret")
    }

    func testCLIENTCarriesTheServerCredentialsAndBecomesSRVCRED() throws {
        // [CSP] AAUTHLEVEL: CLIENT = the server authenticates itself to the DM client;
        // [DMACC] AAuthlevel: SRVCRED = the server authenticates itself to the DM client.
        let account = try decode(Self.windowsMobileExample)
        XCTAssertEqual(account.text("AppAuth/2/AAuthLevel"), "SRVCRED")
        XCTAssertEqual(account.text("AppAuth/2/AAuthSecret"), "serversecret")
    }

    func testAAUTHDATAIsBase64DecodedIntoTheBinaryNonce() throws {
        // [CSP] AAUTHDATA: "base64-encoded in the form of a series of bytes"; [DMACC] AAuthData is binary.
        let account = try decode(Self.windowsMobileExample)
        XCTAssertEqual(account.node("AppAuth/1/AAuthData")?.value, Array("Nonce".utf8))
        XCTAssertEqual(account.node("AppAuth/1/AAuthData")?.format, .bin)
        XCTAssertEqual(account.node("AppAuth/2/AAuthData")?.value, Array("ServerNonce".utf8))
    }

    func testAAUTHDATAThatIsNotBase64IsRefused() {
        let xml = Self.windowsMobileExample.replacingOccurrences(of: "Tm9uY2U=", with: "not base64!")
        XCTAssertThrowsError(try decode(xml)) { error in
            guard case BootstrapError.malformedItem(let command, _)? = error as? BootstrapError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(command, "APPAUTH")
        }
    }

    func testTheExampleMapsToAValidAccount() throws {
        let account = try decode(Self.windowsMobileExample)
        XCTAssertEqual(account.serverID, "servername")
        XCTAssertEqual(account.text("AppAddr/1/Addr"), "https://www.mgmtserver.com:8080/manage")
        XCTAssertEqual(account.text("AppAddr/1/AddrType"), "URI", "[DMACC] AddrType: the default is URI")
        XCTAssertEqual(account.text("PrefConRef"), "ABCGPRS1")
        XCTAssertTrue(AccountValidator().problems(in: account).isEmpty, "\(AccountValidator().problems(in: account))")
    }

    func testAAUTHTYPEMayBeLeftOut() throws {
        // [CSP] APPAUTH/AAUTHTYPE is Optional.
        let xml = Self.windowsMobileExample.replacingOccurrences(of: "<parm name=\"AAUTHTYPE\" value=\"DIGEST\"/>", with: "")
        let account = try decode(xml)
        XCTAssertNil(account.node("AppAuth/1/AAuthType"))
        XCTAssertEqual(account.text("AppAuth/1/AAuthLevel"), "CLCRED")
    }

    func testProvisioningContentAddressTypesMapToTheDMAccSpelling() throws {
        // [DMACC] AddrType: "URI" or "IPv4"; Provisioning Content spells the type IPV4 / IPV6.
        for (given, expected) in [("IPV4", "IPv4"), ("IPV6", "IPv6"), ("E164", "E164"), ("ALPHA", "ALPHA"), ("URI", "URI")] {
            XCTAssertEqual(ClientProvisioningReader.addressType(given), expected, given)
        }
        XCTAssertEqual(ClientProvisioningReader.addressType(nil), "URI")
        let xml = Self.windowsMobileExample.replacingOccurrences(
            of: "<parm name=\"ADDR\" value=\"https://www.mgmtserver.com:8080/manage\"/>",
            with: "<characteristic type=\"APPADDR\"><parm name=\"ADDR\" value=\"192.0.2.7\"/><parm name=\"ADDRTYPE\" value=\"IPV4\"/></characteristic>")
        let account = try decode(xml)
        XCTAssertEqual(account.text("AppAddr/1/AddrType"), "IPv4")
        XCTAssertEqual(account.text("AppAddr/1/Addr"), "192.0.2.7")
    }
}
