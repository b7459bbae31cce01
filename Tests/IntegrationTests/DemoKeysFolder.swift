import CardSimulator
import Foundation

/// A temporary folder holding the demo card's key file (mode 0600), for
/// tests that open SCP03 to the built-in demo card.
struct DemoKeysFolder {
    let folder: URL
    let keys: String

    init(prefix: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        try BuiltInProfiles.demoSecurityDomain.keyFileJSON().write(to: URL(fileURLWithPath: keys))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keys)
    }
}
