import APDU
import CardSimulator
import CardTransport
import Foundation
import Synchronization
import XCTest

/// The test side of the virtual-reader rig: pcscd with vpcd (started by
/// scripts/rig-start.sh --no-card, which scripts/test.sh runs) and virtual
/// cards served from this process, so tests can pull them at will.
enum Rig {
    /// vpcd slot ports and the reader names pcscd gives them (scripts/rig-start.sh).
    static let slots: [(port: UInt16, reader: String)] = [
        (35963, "Virtual PCD 00 00"),
        (35964, "Virtual PCD 00 01"),
        (35965, "Virtual PCD B 00 00"),
        (35966, "Virtual PCD B 00 01"),
    ]

    static func context(file: StaticString = #filePath, line: UInt = #line) throws -> PCSCContext {
        do {
            return try PCSCContext()
        } catch PCSCError.serviceNotRunning {
            XCTFail("pcscd is not running: start the rig with scripts/rig-start.sh --no-card (scripts/test.sh does)",
                    file: file, line: line)
            throw PCSCError.serviceNotRunning
        }
    }

    /// Inserts `card` into slot `slot` and waits until pcscd reports it. The
    /// card now belongs to the slot's thread; read its `counters`.
    static func insert(_ card: sending VirtualCard, slot: Int = 0) throws -> VirtualReaderSlot {
        let context = try context()
        let reader = slots[slot].reader
        do {
            try context.waitForRemoval(from: reader, timeout: 5)
        } catch PCSCError.timeout {
            XCTFail("\(reader) already holds a card that is not this test's: restart the rig with scripts/rig-start.sh --no-card")
            throw PCSCError.sharingViolation(reader: reader)
        }
        let inserted = try VirtualReaderSlot(card: card, port: slots[slot].port)
        try context.waitForCard(in: reader, timeout: 5)
        return inserted
    }

    /// Pulls the card and waits until pcscd has seen it go.
    static func remove(_ inserted: VirtualReaderSlot, slot: Int = 0) throws {
        inserted.remove()
        try context().waitForRemoval(from: slots[slot].reader, timeout: 5)
    }

    /// A connected channel to the card in `slot`.
    static func channel(slot: Int = 0, context: PCSCContext) throws -> (PCSCCard, ISO7816Channel) {
        let card = try context.connect(reader: slots[slot].reader)
        return (card, ISO7816Channel(link: card))
    }
}

/// Runs the built executables, as a user or a factory script would.
enum Executable {
    static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: String? = nil) throws -> Result {
        try run(productsDirectory.appendingPathComponent(name), arguments, environment: environment, stdin: stdin)
    }

    /// Runs `executable` to its end. stdin is fed and stderr drained on their
    /// own threads while this one reads stdout: a child that fills one pipe
    /// while the test waits on another would otherwise block both for good.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                    stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let writer = input.fileHandleForWriting
        let bytes = Data((stdin ?? "").utf8)
        Thread.detachNewThread {
            try? writer.write(contentsOf: bytes)
            try? writer.close()
        }
        let errors = Mutex(Data())
        let drained = DispatchSemaphore(value: 0)
        let stderrReader = err.fileHandleForReading
        Thread.detachNewThread {
            let data = stderrReader.readDataToEndOfFile()
            errors.withLock { $0 = data }
            drained.signal()
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: errors.withLock { $0 }, as: UTF8.self))
    }
}

/// Fixture cards with a bootstrap of the test's own.
enum FixtureCards {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The one-dm card's profile, written into `folder`, with its one DM
    /// bootstrap object read from `contentFile` (a name in `folder`).
    static func oneDM(bootstrap contentFile: String, label: String, in folder: URL) throws -> URL {
        var profile = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: fixtures.appendingPathComponent("cards/one-dm.json"))) as? [String: Any])
        var pkcs15 = try XCTUnwrap(profile["pkcs15"] as? [String: Any])
        pkcs15["objects"] = [["kind": "dm", "label": label, "fid": "6001", "contentFile": contentFile]]
        profile["pkcs15"] = pkcs15
        let url = folder.appendingPathComponent("\(label).json")
        try JSONSerialization.data(withJSONObject: profile).write(to: url)
        return url
    }
}

/// Secret files as dmboot accepts them: the user's own, mode 0600.
enum SecretFileFixture {
    static func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
