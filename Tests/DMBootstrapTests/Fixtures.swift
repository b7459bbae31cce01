import Foundation

/// The bootstrap samples in Fixtures/bootstrap: XML written from the
/// specifications, WBXML produced from it by Debian's xml2wbxml (libwbxml).
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/bootstrap")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    }
}
