import LocalFiles
import XCTest

final class PathTextTests: XCTestCase {
    /// The one-character paths on which Foundation's deletingLastPathComponent traps (issue 25).
    func testOneCharacterRelativePathsAreInTheCurrentFolder() {
        for path in ["a", ".", "x/", "a//", "t"] { XCTAssertEqual(PathText.folder(of: path), "", path) }
    }

    func testTheFolderOfAPathIsWhatPrecedesItsLastName() {
        XCTAssertEqual(PathText.folder(of: "a/b"), "a")
        XCTAssertEqual(PathText.folder(of: "a//b/"), "a")
        XCTAssertEqual(PathText.folder(of: "./a"), ".")
        XCTAssertEqual(PathText.folder(of: "/a"), "/")
        XCTAssertEqual(PathText.folder(of: "//a"), "/")
        XCTAssertEqual(PathText.folder(of: "/"), "/")
        XCTAssertEqual(PathText.folder(of: "/var/lib/dmboot/tree.sqlite"), "/var/lib/dmboot")
        XCTAssertEqual(PathText.folder(of: ""), "")
    }

    /// A "/" followed by a combining mark is one Swift Character but two things to the kernel.
    func testASlashBeforeACombiningMarkStillSeparates() {
        XCTAssertEqual(PathText.folder(of: "dir/\u{301}x"), "dir")
        XCTAssertEqual(PathText.joining("dir", "/\u{301}x"), "/\u{301}x")
    }

    func testJoiningKeepsAbsoluteNamesAndTheCurrentFolder() {
        XCTAssertEqual(PathText.joining("", "x.apdu"), "x.apdu")
        XCTAssertEqual(PathText.joining("scripts", "x.apdu"), "scripts/x.apdu")
        XCTAssertEqual(PathText.joining("/", "x.apdu"), "/x.apdu")
        XCTAssertEqual(PathText.joining("scripts", "/etc/x.apdu"), "/etc/x.apdu")
    }
}
