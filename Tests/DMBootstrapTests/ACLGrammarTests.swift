import DMBootstrap
import XCTest

/// ACLs against OMA-TS-DM_TND-V1_2_1 section 7.7.1.5 ("ACL syntax").
final class ACLGrammarTests: XCTestCase {
    /// The example ACL value the section gives reads back entry by entry and prints as it was.
    func testTheSpecificationsExampleReadsAndPrintsAsGiven() throws {
        let text = "Add=www.sonera.fi-8765&Delete=www.sonera.fi-8765&Replace=www.sonera.fi-8765+321_&Get=*"
        let acl = try XCTUnwrap(DMACL(parsing: text))
        XCTAssertEqual(acl.entries.map(\.command), [.add, .delete, .replace, .get])
        XCTAssertEqual(acl.entries[2].servers.map(\.text), ["www.sonera.fi-8765", "321_"])
        XCTAssertEqual(acl.entries[3].servers, [.anyServer])
        XCTAssertEqual(acl.description, text)
        XCTAssertTrue(acl.grants(.get))
        XCTAssertFalse(acl.grants(.exec))
    }

    /// "All printable characters except '=', '&', '*', '+' or white-space characters."
    func testAServerIdentifierExcludesTheACLsSyntaxWhiteSpaceAndUnprintables() {
        for bad in ["evil&Get=*", "a=b", "a+b", "*", "a b", "tab\there", "nl\n", "bell\u{7}", "nbsp\u{A0}", "bidi\u{202E}", ""] {
            XCTAssertNil(DMACL.ServerIdentifier(bad), bad.debugDescription)
            XCTAssertNotNil(DMACL.ServerIdentifier.problem(bad), bad.debugDescription)
        }
        for good in ["dmboot-demo-server", "www.sonera.fi-8765", "321_", "com.example:dm/1", "sérveur"] {
            XCTAssertNotNil(DMACL.ServerIdentifier(good), good)
        }
    }

    /// Whatever the ServerID, a built ACL has exactly the entries asked for.
    func testABuiltACLHasOnlyTheEntriesItWasGiven() throws {
        let server = try XCTUnwrap(DMACL.ServerIdentifier("srv.example"))
        let acl = DMACL(granting: [.replace], to: server)
        XCTAssertEqual(acl.description, "Replace=srv.example")
        XCTAssertEqual(DMACL(parsing: acl.description), acl)
    }

    func testTextThatBreaksTheGrammarDoesNotParse() {
        for bad in ["Get", "Get=", "Fetch=a", "Get=a&", "Get=a+", "Get=a b", "=a", "Get=a&&Replace=b"] {
            XCTAssertNil(DMACL(parsing: bad), bad)
        }
        XCTAssertEqual(DMACL(parsing: "")?.entries, [], "the grammar's No value")
    }

    /// A bootstrap whose ServerID would write ACL entries of its own is invalid, on every way in.
    func testTheValidatorRefusesAServerIDThatIsACLSyntax() {
        let account = DMAccount(name: "Evil", source: .syncML, nodes: [
            DMNode(path: "ServerID", format: .chr, value: Array("evil&Get=*".utf8)),
        ])
        let problems = AccountValidator().problems(in: [account]).filter { $0.path == "ServerID" }
        XCTAssertEqual(problems.count, 1)
        XCTAssertEqual(problems.first?.severity, .error)
        XCTAssertTrue(problems.first?.problem.contains("\"&\"") ?? false, "\(problems)")
    }
}
