import APDU
import CardSimulator
import Foundation
import Synchronization
import XCTest

/// `dmboot provision` through pcscd: the product's main job.
final class ProvisionCommandTests: XCTestCase {
    static let cards = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/cards")
    var folder: URL!
    var keys: String!
    var tree: String { folder.appendingPathComponent("tree.sqlite").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("provision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = folder.appendingPathComponent("keys.json").path
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func card(_ profile: String) throws -> sending VirtualCard {
        try VirtualCard(profile: CardProfile.load(from: Self.cards.appendingPathComponent("\(profile).json")))
    }

    func provision(slot: Int = 1, _ extra: [String] = []) throws -> Executable.Result {
        try Executable.run("dmboot", provisionArguments(slot: slot) + extra)
    }

    func provisionArguments(slot: Int) -> [String] {
        ["provision", "--reader", Rig.slots[slot].reader, "--keys", keys, "--tree", tree, "--json"]
    }

    func json(_ result: Executable.Result) throws -> [String: Any] {
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func installed() throws -> [String] {
        let result = try Executable.run("dmboot", ["tree", "show", "--tree", tree, "--json"])
        let object = try json(result)
        return try XCTUnwrap(object["accounts"] as? [[String: Any]]).compactMap { $0["name"] as? String }
    }

    func withCard<T>(_ profile: String, slot: Int = 1, _ body: () throws -> T) throws -> T {
        let inserted = try Rig.insert(try card(profile), slot: slot)
        defer { try? Rig.remove(inserted, slot: slot) }
        return try body()
    }

    func testProvisioningSeveralCardsAndPruningOnAChangedCard() throws {
        let first = try json(try withCard("two-dm") { try provision() })
        XCTAssertEqual(first["added"] as? [String], ["DemoServer", "Backup"])
        XCTAssertEqual(first["apduCount"] as? Int, 2 + 2 + 3 + 6 + (1 + 10) + (1 + 4))
        XCTAssertEqual(try installed(), ["Backup", "DemoServer"])
        let again = try json(try withCard("two-dm") { try provision() })
        XCTAssertEqual(again["changed"] as? Bool, false)
        XCTAssertEqual(again["unchanged"] as? [String], ["DemoServer", "Backup"])
        let changed = try json(try withCard("cp-and-dm") { try provision() })
        XCTAssertEqual(changed["added"] as? [String], ["cp-dm-server"])
        XCTAssertEqual(changed["removed"] as? [String], ["DemoServer"])
        XCTAssertEqual(try installed(), ["Backup", "cp-dm-server"])
        let large = try json(try withCard("large-dm") { try provision(["--extended-length", "on"]) })
        XCTAssertEqual(large["apduCount"] as? Int, 2 + 2 + 3 + 4 * 2)
        XCTAssertEqual(try installed(), ["DemoServer"])
    }

    func testADryRunWritesNothing() throws {
        _ = try json(try withCard("one-dm") { try provision() })
        let before = FileManager.default.contents(atPath: tree)
        let dry = try json(try withCard("two-dm") { try provision(["--dry-run"]) })
        XCTAssertEqual(dry["added"] as? [String], ["DemoServer"])
        XCTAssertEqual(dry["dryRun"] as? Bool, true)
        XCTAssertEqual(FileManager.default.contents(atPath: tree), before)
    }

    func testACardPulledMidReadLeavesTheTreeByteForByte() throws {
        _ = try json(try withCard("one-dm") { try provision() })
        let before = FileManager.default.contents(atPath: tree)
        let pulled = try card("two-dm")
        pulled.shouldContinue = { $0 < 12 }
        let inserted = try Rig.insert(pulled, slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let result = try provision()
        XCTAssertEqual(result.status, 7, result.stderr)
        XCTAssertTrue(result.stderr.contains("removed"), result.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: tree), before)
    }

    func testPolicyAndTreeErrorsHaveTheirCodes() throws {
        let policy = folder.appendingPathComponent("policy.json").path
        try Data(#"{"smartcardBootstrap": false}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let refused = try withCard("one-dm") { try provision(["--policy", policy]) }
        XCTAssertEqual(refused.status, 60, refused.stderr)
        XCTAssertNil(FileManager.default.contents(atPath: tree))
        let missing = try Executable.run("dmboot", ["tree", "show", "--tree", tree])
        XCTAssertEqual(missing.status, 50, missing.stderr)
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: tree))
        let corrupt = try withCard("one-dm") { try provision() }
        XCTAssertEqual(corrupt.status, 50, corrupt.stderr)
        XCTAssertEqual(FileManager.default.contents(atPath: tree), Data(repeating: 0x41, count: 4096))
    }

    /// provision --json-log writes the station's log line, through the same
    /// ResultSink: the success with the card's key version, the failure with
    /// its class, and no key.
    func testProvisionAppendsEachCardsResultToTheJSONLog() throws {
        let log = folder.appendingPathComponent("results.jsonl").path
        let provisioned = try withCard("one-dm") { try provision(["--json-log", log]) }
        XCTAssertEqual(provisioned.status, 0, provisioned.stderr)
        let refused = try withCard("no-dm") { try provision(["--json-log", log]) }
        XCTAssertEqual(refused.status, 32, refused.stderr)
        let lines = try StationLogLine.parse(file: log)
        XCTAssertEqual(lines.map(\.outcome), ["provisioned", "noBootstrapObject"])
        XCTAssertEqual(lines.map(\.exitCode), [0, 32])
        let objects = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(objects.map { $0["command"] as? String }, ["provision", "provision"])
        XCTAssertEqual(objects.map { $0["failureClass"] as? String }, [nil, "noBootstrapObject"])
        XCTAssertEqual(objects[0]["kvn"] as? Int, 0x30)
        XCTAssertEqual(objects[0]["runID"] as? String == objects[1]["runID"] as? String, false, "one run per process")
    }

    func testTwoConcurrentProvisionsIntoOneTree() throws {
        let first = try Rig.insert(try card("two-dm"), slot: 1)
        defer { try? Rig.remove(first, slot: 1) }
        let second = try Rig.insert(try card("cp-and-dm"), slot: 2)
        defer { try? Rig.remove(second, slot: 2) }
        let arguments = [1, 2].map(provisionArguments(slot:))
        let results = Mutex<[Executable.Result?]>([])
        DispatchQueue.concurrentPerform(iterations: arguments.count) { index in
            let result = try? Executable.run("dmboot", arguments[index])
            results.withLock { $0.append(result) }
        }
        let values = results.withLock { $0 }
        XCTAssertEqual(values.count, 2)
        for result in values { XCTAssertEqual(result?.status, 0, result?.stderr ?? "no result") }
        let names = Set(try installed())
        XCTAssertTrue(names == ["DemoServer", "Backup"] || names == ["Backup", "cp-dm-server"], "\(names)")
    }

    /// SIGKILL at random points of a provisioning and of a large import: the
    /// tree is always exactly the old one or the new one, and intact. The
    /// points come from a seeded generator (DMBOOT_TEST_SEED replays a run),
    /// and the import rounds kill as soon as the write has begun (SQLite's
    /// rollback journal exists), so the test proves it killed mid-write.
    func testSIGKILLAtRandomPointsLeavesTheOldOrTheNewTree() throws {
        let seed = ProcessInfo.processInfo.environment["DMBOOT_TEST_SEED"].flatMap { UInt64($0) } ?? 0x5EED_D1B0
        var random = SplitMix64(seed: seed)
        print("SIGKILL test seed \(seed) (DMBOOT_TEST_SEED replays it)")
        _ = try json(try withCard("one-dm") { try provision() })
        let old = try Data(contentsOf: URL(fileURLWithPath: tree))
        let oldAccounts = try installed()
        let inserted = try Rig.insert(try card("two-dm"), slot: 1)
        defer { try? Rig.remove(inserted, slot: 1) }
        let journal = tree + "-journal"
        var outcomes: [String: Int] = [:]
        for round in 0..<24 {
            let process = try start(["provision", "--reader", Rig.slots[1].reader, "--keys", keys, "--tree", tree])
            usleep(UInt32(random.next(upTo: 150_000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if FileManager.default.fileExists(atPath: journal) { outcomes["killed mid-write", default: 0] += 1 }
            let now = try installed()
            XCTAssertTrue(now == oldAccounts || now == ["Backup", "DemoServer"], "seed \(seed) round \(round): \(now)")
            outcomes[now == oldAccounts ? "old" : "new", default: 0] += 1
            try old.write(to: URL(fileURLWithPath: tree))
        }
        print("SIGKILL during provision: \(outcomes)")
        outcomes = [:]

        let accounts = (0..<400).map { number in
            [
                "name": "Imported\(number)",
                "nodes": [
                    ["path": "AppID", "format": "chr", "value": "w7"],
                    ["path": "ServerID", "format": "chr", "value": "server-\(number)"],
                    ["path": "AppAddr/1/Addr", "format": "chr", "value": "https://s\(number).example.com/dm"],
                    ["path": "AppAddr/1/AddrType", "format": "chr", "value": "URI"],
                ],
            ] as [String: Any]
        }
        let export = folder.appendingPathComponent("import.json")
        try JSONSerialization.data(withJSONObject: ["accounts": accounts]).write(to: export)
        var midWrite = 0
        for round in 0..<12 {
            let process = try start(["tree", "import", export.path, "--tree", tree])
            // Wait for the write to begin, then a seeded moment more inside it.
            let deadline = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: journal) && process.isRunning && Date() < deadline { usleep(200) }
            usleep(UInt32(random.next(upTo: 20_000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let hot = FileManager.default.fileExists(atPath: journal)
            if hot { midWrite += 1 }
            let count = try installed().count
            XCTAssertTrue(count == oldAccounts.count || count == oldAccounts.count + 400, "seed \(seed) round \(round): \(count)")
            if hot { XCTAssertEqual(count, oldAccounts.count, "seed \(seed) round \(round): killed mid-write, yet the new tree") }
            outcomes[count == oldAccounts.count ? "old" : "new", default: 0] += 1
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            check.arguments = [tree, "PRAGMA integrity_check"]
            let out = Pipe()
            check.standardOutput = out
            try check.run()
            check.waitUntilExit()
            XCTAssertEqual(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "ok\n")
            try old.write(to: URL(fileURLWithPath: tree))
        }
        XCTAssertGreaterThan(midWrite, 0, "seed \(seed): no round killed the import while it wrote")
        print("SIGKILL during import: \(outcomes), \(midWrite) of 12 killed mid-write")
    }

    func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = Executable.productsDirectory.appendingPathComponent("dmboot")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

/// A small seeded generator (SplitMix64), so a failing run can be replayed.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(upTo bound: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) % (bound + 1)
    }
}
