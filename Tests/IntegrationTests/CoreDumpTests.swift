import Foundation
import TestSupport
import XCTest

/// What a core of a dmboot process that holds SCP03 keys gives away (issue 25).
/// Measured, not assumed: a control process that holds the same keys in plain
/// memory shows that the kernel writes a core here and that the scan finds
/// the keys in one; then the same is tried on a station waiting for a card.
final class CoreDumpTests: XCTestCase {
    var folder: URL!
    var keys: [String: String] = [:]

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("control"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("station"), withIntermediateDirectories: true)
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", path("keys.json")]).status, 0)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("keys.json"))))
                                   as? [String: Any])
        for name in ["enc", "mac", "dek"] { keys[name] = try XCTUnwrap(object[name] as? String) }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The keys found in `core`, as the bytes a card uses (not their hex text).
    func keysFound(in core: String) throws -> [String] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: core))
        return keys.filter { bytes.range(of: Data(hex: $0.value)) != nil }.map(\.key).sorted()
    }

    /// A shell that allows cores, then `command`, in `folder`.
    func startAllowingCores(_ command: String, in folder: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -c unlimited && cd \"$0\" && exec \(command)", folder]
        // Swift's crash backtracer would catch the signal; the kernel's own action is what is measured.
        process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path("stderr")))
        try process.run()
        return process
    }

    func cores(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix("core") || $0.hasPrefix("gcore") }
            .map { "\(folder)/\($0)" }
    }

    func station() throws -> Process {
        FileManager.default.createFile(atPath: path("stderr"), contents: nil)
        let dmboot = Executable.productsDirectory.appendingPathComponent("dmboot").path
        let process = try startAllowingCores("\"\(dmboot)\" station --keys ../keys.json --tree-dir trees --readers "
                                             + "\"\(Rig.slots[3].reader)\"", in: path("station"))
        try waitUntil("the station to watch its reader") {
            ((try? String(contentsOfFile: path("stderr"), encoding: .utf8)) ?? "").contains("waiting for a card")
                || !process.isRunning
        }
        XCTAssertTrue(process.isRunning, (try? String(contentsOfFile: path("stderr"), encoding: .utf8)) ?? "")
        return process
    }

    func control() throws -> Process {
        FileManager.default.createFile(atPath: path("stderr"), contents: nil)
        let hex = [keys["enc"]!, keys["mac"]!, keys["dek"]!].joined()
        let process = try startAllowingCores(
            "python3 -c 'import sys, time; k = bytes.fromhex(sys.argv[1]); print(\"ready\", file=sys.stderr, flush=True); time.sleep(60)' \(hex)",
            in: path("control"))
        try waitUntil("the control to hold its keys") {
            ((try? String(contentsOfFile: path("stderr"), encoding: .utf8)) ?? "").contains("ready") || !process.isRunning
        }
        return process
    }

    /// SIGQUIT dumps core by default: the control leaves one that holds the
    /// keys; the station (RLIMIT_CORE 0, not dumpable) leaves none, although
    /// its shell allowed cores.
    func testAStationHoldingKeysLeavesNoCoreWhereAControlLeavesOneWithTheKeys() throws {
        let reference = try control()
        kill(reference.processIdentifier, SIGQUIT)
        reference.waitUntilExit()
        let controlCores = cores(in: path("control"))
        XCTAssertEqual(controlCores.count, 1, "the kernel wrote no core for the control; the test measures nothing here")
        if let core = controlCores.first { XCTAssertEqual(try keysFound(in: core), ["dek", "enc", "mac"]) }

        let running = try station()
        let limits = try String(contentsOfFile: "/proc/\(running.processIdentifier)/limits", encoding: .utf8)
        let core = try XCTUnwrap(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        XCTAssertEqual(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2), ["0", "0"], String(core))
        kill(running.processIdentifier, SIGQUIT)
        running.waitUntilExit()
        XCTAssertEqual(running.terminationReason, .uncaughtSignal)
        XCTAssertEqual(cores(in: path("station")), [])
    }

    /// gdb's gcore, run as a user who may trace the station (root here), makes
    /// a core whatever the process says; SecretBytes pages are marked
    /// MADV_DONTDUMP, which gcore honours. What is measured: whether the key
    /// bytes are anywhere else in the station's memory.
    func testAGcoreOfAStationHoldsNoKeyBytes() throws {
        let reference = try control()
        XCTAssertEqual(try Executable.run(URL(fileURLWithPath: "/usr/bin/gcore"),
                                          ["-o", path("control/gcore"), "\(reference.processIdentifier)"]).status, 0)
        kill(reference.processIdentifier, SIGKILL)
        let controlCore = try XCTUnwrap(cores(in: path("control")).first)
        XCTAssertEqual(try keysFound(in: controlCore), ["dek", "enc", "mac"], "the scan finds keys held in plain memory")

        let running = try station()
        defer { kill(running.processIdentifier, SIGKILL) }
        let gcore = try Executable.run(URL(fileURLWithPath: "/usr/bin/gcore"),
                                       ["-o", path("station/gcore"), "\(running.processIdentifier)"])
        guard gcore.status == 0, let core = cores(in: path("station")).first else {
            return XCTAssertTrue(getuid() != 0, "root's gcore made no core of the station: \(gcore.stderr)")
        }
        XCTAssertEqual(try keysFound(in: core), [], "key bytes in the core of a station waiting for a card")
    }
}

extension Data {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        self.init(bytes)
    }
}
