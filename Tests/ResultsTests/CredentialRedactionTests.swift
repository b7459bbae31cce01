import Results
import XCTest

/// No credential of the results URL in any message, whatever libpq makes of
/// the URL (issue 25): libpq echoes a URL it cannot parse, a bad percent
/// escape and the host it took from a password with an unencoded "@".
final class CredentialRedactionTests: XCTestCase {
    func message(_ url: String, password: String? = nil) -> String {
        do {
            _ = try PostgresConnection(url: url, password: password, connectTimeout: 1)
            XCTFail("\(url) connected")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testAURLLibpqCannotParseShowsNoPassword() {
        let shown = message("postgresql://line:S3cretPW@[::1/db")
        XCTAssertFalse(shown.contains("S3cretPW"), shown)
        XCTAssertTrue(shown.contains("line:***@"), shown)
    }

    func testABadPercentEscapeShowsNoPassword() {
        for url in ["postgresql://line:S3cr%zzetPW@localhost/db", "postgresql://line@localhost/db?sslpassword=SslPW%zz"] {
            let shown = message(url)
            for piece in ["S3cr", "etPW", "SslPW"] { XCTAssertFalse(shown.contains(piece), shown) }
            XCTAssertTrue(shown.contains("percent"), shown)
        }
    }

    func testAnUnencodedAtInThePasswordIsRefusedBeforeLibpq() {
        let shown = message("postgresql://line:S3c@retPW@localhost/db")
        XCTAssertFalse(shown.contains("retPW"), shown)
        XCTAssertFalse(shown.contains("S3c"), shown)
        XCTAssertTrue(shown.contains("%40"), shown)
    }

    func testSSLPasswordAndPasswordParametersAreRedacted() {
        XCTAssertEqual(PostgresConnection.redacted("postgresql://db.example/r?sslpassword=SslS3cret&sslmode=require"),
                       "postgresql://db.example/r?sslpassword=***&sslmode=require")
        XCTAssertEqual(PostgresConnection.redacted("postgresql://db.example/r?user=line&password=Pw1&Pw2&sslmode=disable"),
                       "postgresql://db.example/r?user=line&password=***&sslmode=disable")
        let shown = message("postgresql://line@127.0.0.1:1/db?sslpassword=SslS3cret&password=Pw1&Pw2")
        for piece in ["SslS3cret", "Pw1", "Pw2"] { XCTAssertFalse(shown.contains(piece), shown) }
    }

    func testAKeywordStringIsNotEchoed() {
        let shown = message("host=db.example password=KwS3cret")
        XCTAssertFalse(shown.contains("KwS3cret"), shown)
    }

    func testAPasswordGivenApartIsNeverShownAndNotGivenTwice() {
        let shown = message("postgresql://line@127.0.0.1:1/db", password: "FileS3cret")
        XCTAssertFalse(shown.contains("FileS3cret"), shown)
        XCTAssertThrowsError(try PostgresConnection(url: "postgresql://line:UrlPW@127.0.0.1:1/db", password: "FileS3cret")) { error in
            XCTAssertEqual(error as? ResultsDatabaseError, .passwordGivenTwice)
        }
    }
}
