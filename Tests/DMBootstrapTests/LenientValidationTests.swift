@testable import DMBootstrap
import XCTest

/// What the specifications require is an error; what they leave open is a
/// warning that a strict policy refuses. Sources cited per test:
/// - [CR] shared/spec/cr-dm13-bootstrap-security-scp03.txt, 12.2 (SecMode: Required, format bin, "For example,
///   PSK mode, X509 mode": no encoding given).
/// - [LwM2M] OMA-TS-LightweightM2M-V1_0, Appendix E.1, LWM2M Security object, resource 2 "Security Mode":
///   0 Pre-Shared Key, 1 Raw Public Key, 2 Certificate, 3 NoSec.
/// - [TND] OMA-TS-DM_TND-V1_2_1, section 5 "The Management Tree": names joined by "/", no URI ends in "/",
///   "../" never and "./" only at the start; URIs are RFC 2396 URIs, which exclude control characters (2.4.3).
/// - [CSP] Microsoft's w7 APPLICATION CSP: APPAUTH/AAUTHTYPE is Optional.
final class LenientValidationTests: XCTestCase {
    func account(_ nodes: [(String, NodeFormat, [UInt8])], name: String = "Acc") -> DMAccount {
        DMAccount(name: name, source: .syncML, nodes: [
            DMNode(path: "ServerID", format: .chr, value: Array("srv-\(name)".utf8)),
            DMNode(path: "AppAddr/1/Addr", format: .chr, value: Array("https://dm.example.com".utf8)),
        ] + nodes.map { DMNode(path: $0.0, format: $0.1, value: $0.2) })
    }

    func bootstrapNodes(secMode: [UInt8]) -> [(String, NodeFormat, [UInt8])] {
        [("Auth/Bootstrap/ServerURI", .chr, Array("https://bs.example.com".utf8)), ("Auth/Bootstrap/SecMode", .bin, secMode),
         ("Auth/Bootstrap/ClientPublicKeyPSKIdentity", .bin, Array("device-1".utf8)),
         ("Auth/Bootstrap/ServerPublicKeyPSKIdentity", .bin, Array("bs".utf8)),
         ("Auth/Bootstrap/ClientSecretKey", .bin, [1, 2, 3, 4])]
    }

    func testSecModeTextNamesInAnyCaseAndTheLwM2MCodesAreAccepted() {
        // [CR] gives no encoding for the bin SecMode; [LwM2M] numbers PSK 0 and Certificate 2.
        for (bytes, mode) in [(Array("PSK".utf8), SecurityMode.psk), (Array("psk".utf8), .psk), (Array("X509".utf8), .x509),
                              (Array("x.509".utf8), .x509), (Array(" X.509\n".utf8), .x509), ([0x00], .psk), ([0x02], .x509)] {
            XCTAssertEqual(SecurityMode(secMode: bytes), mode, "\(bytes)")
        }
        XCTAssertNil(SecurityMode(secMode: [0x01]), "[LwM2M] 1 is Raw Public Key, which the CR has no nodes for")
        XCTAssertNil(SecurityMode(secMode: Array("SRP".utf8)))
        XCTAssertTrue(AccountValidator().problems(in: account(bootstrapNodes(secMode: [0x00]))).isEmpty)
    }

    func testAnUnknownSecModeIsAWarningNotAnError() throws {
        let problems = AccountValidator().problems(in: account(bootstrapNodes(secMode: [0x01])))
        XCTAssertEqual(problems.map(\.severity), [.warning])
        XCTAssertEqual(problems.first?.path, "Auth/Bootstrap/SecMode")
        XCTAssertTrue(problems.first?.problem.hasPrefix("0x01 ") ?? false, "\(problems)")
    }

    func testPortNbrAsChrDigitsIsAWarningAndOtherwiseAnError() {
        let chr = AccountValidator().problems(in: account([("AppAddr/1/Port/1/PortNbr", .chr, Array("8443".utf8))]))
        XCTAssertEqual(chr.map(\.severity), [.warning])
        let letters = AccountValidator().problems(in: account([("AppAddr/1/Port/1/PortNbr", .chr, Array("84a".utf8))]))
        XCTAssertEqual(letters.map(\.severity), [.error])
        let range = AccountValidator().problems(in: account([("AppAddr/1/Port/1/PortNbr", .chr, Array("70000".utf8))]))
        XCTAssertEqual(range.map(\.severity), [.warning, .error], "\(range)")
    }

    func testW7WithoutAAuthTypeIsAWarningThatStrictRefuses() throws {
        // [CSP] AAUTHTYPE is optional in w7; DMStdObj's AppAuth needs AAuthType, so it is worth a warning.
        let xml = W7KnownAnswerTests.windowsMobileExample
            .replacingOccurrences(of: "<parm name=\"AAUTHTYPE\" value=\"DIGEST\"/>", with: "")
        let decoded = try BootstrapDecoder().decode(Array(xml.utf8), format: .cp)
        let warnings = try AccountValidator().validate(decoded)
        XCTAssertEqual(warnings.map(\.path), ["AppAuth/1/AAuthType", "AppAuth/2/AAuthType"])
        XCTAssertTrue(warnings.allSatisfy { $0.severity == .warning })
        XCTAssertThrowsError(try AccountValidator().validate(decoded, strict: true)) { error in
            XCTAssertEqual(error as? BootstrapError, .refusedWarnings(warnings))
        }
        // The same gap in a SyncML account is an error: DMStdObj requires AAuthType.
        let syncML = account([("AppAuth/1/AAuthLevel", .chr, Array("CLCRED".utf8))])
        XCTAssertEqual(AccountValidator().problems(in: syncML).map(\.severity), [.error])
    }

    func testNamesTNDForbidsAreErrors() {
        // [TND] section 5.
        for name in [".", "..", "DemoServer/AppAuth", "", "bell\u{07}", "esc\u{1B}[2J", "del\u{7F}"] {
            XCTAssertNotNil(NodeName.problem(name), name.debugDescription)
            let problems = AccountValidator().problems(in: account([], name: name))
            XCTAssertTrue(problems.contains { $0.severity == .error && $0.path.isEmpty }, name.debugDescription)
        }
        for name in ["DemoServer", "cp-dm-server", "Démo_1", "a.b", "..."] {
            XCTAssertNil(NodeName.problem(name), name)
        }
        XCTAssertNotNil(NodeName.pathProblem("AppAddr/../AppAuth"))
        XCTAssertNotNil(NodeName.pathProblem("AppAddr//Addr"))
        XCTAssertNil(NodeName.pathProblem("AppAddr/1/Addr"))
    }

    func testTwoObjectsUsingTheSameAccountNameAreReported() {
        let first = account([], name: "DemoServer")
        var second = account([], name: "DemoServer")
        second.set(DMNode(path: "Name", format: .chr, value: Array("other".utf8)))
        let problems = AccountValidator().problems(in: [first, second])
        XCTAssertEqual(problems.map(\.severity), [.error])
        XCTAssertTrue(problems[0].problem.contains("two bootstrap objects"), "\(problems)")
    }

    func testAPushedDotDotAccountIsRefused() throws {
        let xml = """
        <SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody>
        <Add><CmdID>1</CmdID><Item><Target><LocURI>./DMAcc/..</LocURI></Target><Meta><Format xmlns="syncml:metinf">node</Format></Meta></Item></Add>
        <Add><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/../ServerID</LocURI></Target><Data>evil</Data></Item></Add>
        </SyncBody></SyncML>
        """
        let decoded = try BootstrapDecoder().decode(Array(xml.utf8))
        XCTAssertThrowsError(try AccountValidator().validate(decoded)) { error in
            guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertTrue(problems.contains { $0.account == ".." && $0.path.isEmpty }, "\(problems)")
        }
    }

    func testEmptyNamesInsideALocURIAreRefusedNotMerged() throws {
        // [TND] section 5: names are joined by single "/" delimiters.
        XCTAssertEqual(try AccountPath.split("./DMAcc/x/AppAddr/1/Addr", root: ["DMAcc"])?.path, "AppAddr/1/Addr")
        XCTAssertEqual(try AccountPath.split("DMAcc/x", root: ["DMAcc"])?.account, "x")
        XCTAssertEqual(try AccountPath.split("./DMAcc//x", root: ["DMAcc"])?.account, "")
        XCTAssertEqual(try AccountPath.split("./DMAcc/x//Addr", root: ["DMAcc"])?.path, "/Addr")
        let xml = """
        <SyncML><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody><Add><CmdID>1</CmdID>
        <Item><Target><LocURI>./DMAcc/x/ServerID</LocURI></Target><Data>x</Data></Item>
        <Item><Target><LocURI>./DMAcc/x/AppAddr//Addr</LocURI></Target><Data>https://x.example</Data></Item>
        </Add></SyncBody></SyncML>
        """
        XCTAssertThrowsError(try AccountValidator().validate(try BootstrapDecoder().decode(Array(xml.utf8)))) { error in
            guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertTrue(problems.contains { $0.path == "AppAddr//Addr" }, "\(problems)")
        }
    }

    func testATNDSNodeNameWithASlashCannotReachAnotherAccount() {
        let xml = """
        <MgmtTree><VerDTD>1.2</VerDTD>
        <Node><NodeName>DemoServer/AppAuth</NodeName><Path>./DMAcc</Path><RTProperties><Format><node/></Format></RTProperties>
          <Node><NodeName>1</NodeName><RTProperties><Format><node/></Format></RTProperties>
            <Node><NodeName>AAuthSecret</NodeName><Value>stolen</Value></Node></Node></Node>
        </MgmtTree>
        """
        XCTAssertThrowsError(try BootstrapDecoder().decode(Array(xml.utf8), format: .tnds)) { error in
            guard case .malformedItem(let command, let reason)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertEqual(command, "Node")
            XCTAssertTrue(reason.contains("DemoServer/AppAuth"), reason)
        }
    }
}
