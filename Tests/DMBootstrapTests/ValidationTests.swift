@testable import DMBootstrap
import XCTest

final class ValidationTests: XCTestCase {
    func account(_ nodes: [(String, NodeFormat, String?)]) -> DMAccount {
        DMAccount(name: "Broken", source: .syncML,
                  nodes: nodes.map { DMNode(path: $0.0, format: $0.1, value: $0.2.map { Array($0.utf8) }) })
    }

    func testEveryProblemIsNamedInOneError() throws {
        let broken = account([
            ("AppID", .chr, "w5"),
            ("AppAddr/1/Addr", .chr, "not a uri"),
            ("AppAddr/1/AddrType", .chr, "URI"),
            ("AppAddr/1/Port/1/PortNbr", .int, "70000"),
            ("AppAddr/2/Addr", .chr, "300.1.1.1"),
            ("AppAddr/2/AddrType", .chr, "IPv4"),
            ("AAuthPref", .chr, "PASSWORD"),
            ("AppAuth/1/AAuthLevel", .chr, "ROOT"),
            ("AppAuth/1/AAuthType", .chr, "KERBEROS"),
            ("Auth/Bootstrap/ServerURI", .chr, "https://bs.example.com"),
            ("Auth/Bootstrap/SecMode", .chr, "PSK"),
            ("Auth/Bootstrap/ClientPublicKeyPSKIdentity", .bin, "device"),
            ("Auth/Bootstrap/ServerPublicKeyPSKIdentity", .bin, "server"),
            ("Auth/Bootstrap/ClientSecretKey", .bin, ""),
        ])
        let bootstrap = DecodedBootstrap(encoding: .xml, documentType: .syncML, publicID: nil, accounts: [broken],
                                         otherNodes: [], ignoredCommands: [])
        XCTAssertThrowsError(try AccountValidator().validate(bootstrap)) { error in
            guard case .invalidAccounts(let problems)? = error as? BootstrapError else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.map(\.path), [
                "AppID", "ServerID", "AppAddr/1/Addr", "AppAddr/1/Port/1/PortNbr", "AppAddr/2/Addr", "AAuthPref",
                "AppAuth/1/AAuthLevel", "AppAuth/1/AAuthType", "Auth/Bootstrap/ClientSecretKey",
            ])
            XCTAssertTrue("\(error)".contains("Broken/Auth/Bootstrap/ClientSecretKey: PSK mode without a key"), "\(error)")
        }
    }

    func testDuplicateServerIDsAreReported() {
        let first = account([("ServerID", .chr, "same"), ("AppAddr/1/Addr", .chr, "https://a.example")])
        var second = first
        second.name = "Other"
        let problems = AccountValidator().problems(in: [first, second])
        XCTAssertEqual(problems.map(\.problem), ["\"same\" is also the ServerID of Broken; ServerIDs are unique"])
    }

    func testAddressTypesAreCheckedByKind() {
        XCTAssertNil(AccountValidator.addressProblem("2001:db8::1", type: "IPv6"))
        XCTAssertNotNil(AccountValidator.addressProblem("2001:db8::g", type: "IPv6"))
        XCTAssertNil(AccountValidator.addressProblem("+491701234567", type: "E164"))
        XCTAssertNotNil(AccountValidator.addressProblem("0170-123", type: "E164"))
        XCTAssertNil(AccountValidator.addressProblem("10.0.0.1", type: "IPv4"))
    }

    func testMissingAuthBootstrapLeavesAndAnX509WithoutCertificate() {
        let x509 = account([
            ("ServerID", .chr, "x"), ("AppAddr/1/Addr", .chr, "https://x.example"),
            ("Auth/Bootstrap/SecMode", .chr, "X509"), ("Auth/Bootstrap/ClientPublicKeyPSKIdentity", .bin, "PEM?"),
        ])
        let paths = AccountValidator().problems(in: x509).map(\.path)
        XCTAssertEqual(paths, ["Auth/Bootstrap/ServerURI", "Auth/Bootstrap/ServerPublicKeyPSKIdentity",
                               "Auth/Bootstrap/ClientSecretKey", "Auth/Bootstrap/ClientPublicKeyPSKIdentity",
                               "Auth/Bootstrap/ClientSecretKey"])
    }
}
