import Foundation
import LocalFiles
import XCTest

/// The one rule of secret files: a regular file, the user's own, no group or other permission bits.
final class SecretFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func file(_ contents: String, mode: Int) throws -> String {
        let path = folder.appendingPathComponent(UUID().uuidString).path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
        XCTAssertEqual(chmod(path, mode_t(mode)), 0)
        return path
    }

    func testAnOwnerOnlyFileIsReadWhole() throws {
        for mode in [0o600, 0o400, 0o700] {
            XCTAssertEqual(try SecretFile.read(try file("1234\n", mode: mode)), Array("1234\n".utf8), String(mode, radix: 8))
        }
        let empty = try file("", mode: 0o600)
        XCTAssertEqual(try SecretFile.read(empty), [])
    }

    func testAnyGroupOrOtherBitIsRefusedWithTheFix() throws {
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601] {
            let path = try file("1234", mode: mode)
            XCTAssertThrowsError(try SecretFile.read(path), String(mode, radix: 8)) { error in
                XCTAssertEqual(error as? SecretFileError, .exposed(path: path, mode: String(mode, radix: 8)))
                XCTAssertTrue("\(error)".contains("chmod 600 \(path)"), "\(error)")
                XCTAssertEqual((error as? SecretFileError)?.exitStatus.rawValue, 55)
            }
        }
    }

    /// The file checked is the file read: a link to an owner-only file is that file.
    func testALinkIsJudgedByTheFileItNames() throws {
        let target = try file("k", mode: 0o600)
        let link = folder.appendingPathComponent("link").path
        XCTAssertEqual(symlink(target, link), 0)
        XCTAssertEqual(try SecretFile.read(link), Array("k".utf8))
        XCTAssertEqual(chmod(target, 0o644), 0)
        XCTAssertThrowsError(try SecretFile.read(link))
    }

    func testAFileOfAnotherUserIsRefused() throws {
        let path: String
        if geteuid() == 0 {
            path = try file("1234", mode: 0o600)
            XCTAssertEqual(chown(path, 65534, 65534), 0)
        } else {
            path = "/etc/hostname"
        }
        XCTAssertThrowsError(try SecretFile.read(path)) { error in
            guard case .notOwned(_, let owner, let user)? = error as? SecretFileError else { return XCTFail("\(error)") }
            XCTAssertNotEqual(owner, user)
            XCTAssertEqual((error as? SecretFileError)?.exitStatus.rawValue, 55)
        }
    }

    func testAFIFOAFolderAndAHugeFileAreRefusedUnread() throws {
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (path, kind) in [(fifo, "a FIFO"), (folder.path, "a folder"), ("/dev/zero", "a character device")] {
            XCTAssertThrowsError(try SecretFile.read(path)) { error in
                XCTAssertEqual(error as? SecretFileError, .notRegularFile(path: path, kind: kind))
            }
        }
        let huge = try file("", mode: 0o600)
        XCTAssertEqual(truncate(huge, 1 << 30), 0)
        XCTAssertThrowsError(try SecretFile.read(huge)) { error in
            XCTAssertEqual(error as? SecretFileError, .tooLarge(path: huge, limit: SecretFile.sizeLimit))
        }
    }
}
