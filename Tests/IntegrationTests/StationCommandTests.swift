import CardSimulator
import Foundation
import TestSupport
import XCTest

/// What the station tests share: a folder of their own holding the
/// simulator's demo keys, the station's log and trees, and the station and
/// the feeder they run there.
class StationTestCase: XCTestCase {
    var folder: URL!
    var keys: String!
    var log: String { path("station.jsonl") }
    var trees: String { path("trees") }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("station-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        keys = path("keys.json")
        XCTAssertEqual(try Executable.run("dmboot-sim", ["--write-keys", keys]).status, 0)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func station(_ extra: [String], keys: String? = nil) throws -> BackgroundProcess {
        try BackgroundProcess(["station", "--keys", keys ?? self.keys, "--tree-dir", trees, "--json-log", log] + extra, in: folder)
    }

    func feeder(_ count: Int, slots: Range<Int>, _ extra: [String] = []) throws -> BackgroundProcess {
        try BackgroundProcess.feeder(count, slots: slots, extra, in: folder)
    }
}

/// `dmboot station` through pcscd, fed by `dmboot-sim --feed` on the
/// rig's four vpcd slots, as an unattended factory line would run it.
final class StationCommandTests: StationTestCase {

    func demoProfile(named name: String, edit: (inout CardProfile) -> Void = { _ in }) throws -> String {
        var profile = BuiltInProfiles.demo
        profile.name = name
        edit(&profile)
        let path = folder.appendingPathComponent("\(name).json")
        try JSONEncoder().encode(profile).write(to: path)
        return path.path
    }

    /// Four readers, cards of two kinds inserted and pulled at their own pace
    /// in each: every card is provisioned once, into its own tree, and logged.
    /// The next card goes in the moment the last is pulled (no gap), faster
    /// than pcscd's 400 ms presence poll: every swap must still be seen.
    func testSeveralReadersWithInterleavedInsertsAndRemovals() throws {
        let demo = try demoProfile(named: "demo")
        let twoDM = ProvisionCommandTests.cards.appendingPathComponent("two-dm.json").path
        let station = try station(["--max-cards", "12"])
        let fed = try feeder(12, slots: 0..<4, ["--profile", demo, "--profile", twoDM, "--gap", "0"]).finish()
        let stopped = try station.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("station: 12 card(s): 12 provisioned, 0 unchanged, 0 duplicate, 0 failed"), stopped.stdout)

        let cards = try FeederReport.parse(fed.stdout)
        XCTAssertEqual(cards.map(\.card), Array(0..<12))
        XCTAssertEqual(Set(cards.map(\.port)).count, 4, "every slot took cards")
        for card in cards {
            XCTAssertEqual(card.outcome, "used", "card \(card.card)")
            XCTAssertEqual(card.externalAuthenticates, 1, "card \(card.card)")
        }
        let lines = try StationLogLine.parse(file: log)
        XCTAssertEqual(lines.count, 12)
        XCTAssertEqual(Set(lines.compactMap(\.cardIdentity)), Set(cards.compactMap(\.identity)))
        XCTAssertEqual(Set(lines.map(\.reader)), Set(Rig.slots.map(\.reader)))
        for line in lines {
            XCTAssertEqual(line.outcome, "provisioned")
            XCTAssertEqual(line.exitCode, 0)
            let expected = line.cardIdentity.flatMap { identity in cards.first { $0.identity == identity } }
            let card = try XCTUnwrap(expected)
            XCTAssertEqual(line.apduCount, card.commands, "the log counts the APDUs the card answered")
            XCTAssertEqual(Set(line.added), card.profile == "demo" ? ["DemoServer"] : ["Backup", "DemoServer"])
            let tree = try XCTUnwrap(line.tree)
            XCTAssertTrue(FileManager.default.fileExists(atPath: tree))
            let shown = try Executable.run("dmboot", ["tree", "show", "--tree", tree])
            XCTAssertTrue(shown.stdout.contains(line.cardIdentity ?? "?"), shown.stdout)
        }
        XCTAssertTrue(stopped.stderr.contains("provisioned iccid:"), "plain status lines when stderr is no terminal")
    }

    /// A card that refuses EXTERNAL AUTHENTICATE, a card without a DM
    /// bootstrap and a card pulled mid-read, among good ones: each is logged
    /// with provision's failure class and code, the failed ones stay in their
    /// readers untouched, and the other reader goes on.
    func testAFailingCardAmongGoodOnesIsReportedAndLeftAlone() throws {
        let station = try station(["--max-cards", "7"])
        let refusing = try VirtualCard(profile: BuiltInProfiles.demo)
        refusing.faults.refuseExternalAuthenticate = true
        let noBootstrap = try VirtualCard(profile: CardProfile.load(
            from: ProvisionCommandTests.cards.appendingPathComponent("no-dm.json")))
        let (refused, withoutBootstrap) = (refusing.counters, noBootstrap.counters)
        let refusingSlot = try Rig.insert(refusing, slot: 0)
        defer { try? Rig.remove(refusingSlot, slot: 0) }
        let noBootstrapSlot = try Rig.insert(noBootstrap, slot: 1)
        defer { try? Rig.remove(noBootstrapSlot, slot: 1) }
        let pulled = try VirtualCard(profile: BuiltInProfiles.demo)
        pulled.shouldContinue = { $0 < 12 }
        let pulledSlot = try Rig.insert(pulled, slot: 2)
        defer { try? Rig.remove(pulledSlot, slot: 2) }
        try waitUntil("the three failed cards in the log") {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count == 3
        }
        let commandsAtFailure = (refused.commands, withoutBootstrap.commands)

        let fed = try feeder(4, slots: 3..<4).finish()
        let stopped = try station.finish()
        XCTAssertEqual(fed.status, 0, fed.stderr)
        XCTAssertEqual(stopped.status, 0, "failures are in the log; the station itself succeeded")
        XCTAssertTrue(stopped.stdout.contains("7 card(s): 4 provisioned, 0 unchanged, 0 duplicate, 3 failed"), stopped.stdout)

        let lines = try StationLogLine.parse(file: log)
        let byReader = Dictionary(grouping: lines, by: \.reader)
        XCTAssertEqual(byReader[Rig.slots[0].reader]?.map(\.outcome), ["authenticationRefused"])
        XCTAssertEqual(byReader[Rig.slots[0].reader]?.map(\.exitCode), [21])
        XCTAssertEqual(byReader[Rig.slots[1].reader]?.map(\.outcome), ["noBootstrapObject"])
        XCTAssertEqual(byReader[Rig.slots[1].reader]?.map(\.exitCode), [32])
        XCTAssertEqual(byReader[Rig.slots[2].reader]?.map(\.outcome), ["cardRemoved"])
        XCTAssertEqual(byReader[Rig.slots[2].reader]?.map(\.exitCode), [7])
        XCTAssertEqual(byReader[Rig.slots[3].reader]?.map(\.outcome), Array(repeating: "provisioned", count: 4))
        XCTAssertEqual(refused.externalAuthenticates, 1, "never a second EXTERNAL AUTHENTICATE")
        XCTAssertEqual(refused.commands, commandsAtFailure.0, "a failed card is left alone while it stays")
        XCTAssertEqual(withoutBootstrap.commands, commandsAtFailure.1, "a failed card is left alone while it stays")
    }

    /// SIGTERM while cards are being provisioned: the station finishes them,
    /// logs every card it started and prints the summary; nothing is lost.
    func testSIGTERMFinishesTheCardsInProgressAndLosesNothing() throws {
        let station = try station([])
        try station.waitUntilWatching()
        let feeder = try feeder(8, slots: 0..<4, ["--response-delay", "40", "--untouched-timeout", "2"])
        // SIGTERM once a card is logged and another has been started (its
        // reader's "provisioning..." status line), so cards are in progress.
        try waitUntil("a card logged and another started") {
            let started = Set(station.errorOutput.split(separator: "\n").filter { $0.hasSuffix(": provisioning...") }
                .compactMap { $0.split(separator: " ", maxSplits: 1).last })
            return started.count > 1 && ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\n")
        }
        station.signal(SIGTERM)
        let stopped = try station.finish()
        feeder.signal(SIGTERM)
        let fed = try feeder.finish()
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("stopping: finishing the cards in progress"), stopped.stderr)
        XCTAssertEqual(fed.status, 0, fed.stderr)

        let lines = try StationLogLine.parse(file: log)
        let touched = try FeederReport.parse(fed.stdout).filter { $0.commands > 0 }
        XCTAssertGreaterThan(touched.count, 1, "cards were in progress when SIGTERM came")
        XCTAssertLessThan(lines.count, 8, "SIGTERM ended the run early")
        XCTAssertEqual(Set(lines.compactMap(\.cardIdentity)), Set(touched.compactMap(\.identity)),
                       "every card the station started is in the log")
        for line in lines {
            XCTAssertEqual(line.outcome, "provisioned", line.error ?? "")
            XCTAssertEqual(line.apduCount, 24, "EF.ICCID and EF(DIR) cost two APDUs each; the demo bootstrap is read to its end, one fewer")
        }
        XCTAssertTrue(stopped.stdout.contains("station: \(lines.count) card(s): \(lines.count) provisioned"), stopped.stdout)
    }
}

/// A line of the station's JSON log, checked field by field: every key is
/// there with its type, and no other key.
struct StationLogLine {
    var time: Date
    var reader: String
    var cardIdentity: String?
    var outcome: String
    var exitCode: Int
    var added: [String]
    var replaced: [String]
    var removed: [String]
    var unchanged: [String]
    var apduCount: Int?
    var milliseconds: Double
    var tree: String?
    var error: String?

    static let keys: Set<String> = ["time", "command", "stationID", "runID", "batch", "operator", "reader", "cardIdentity", "iccid", "pkcs15Serial", "atr",
                                    "outcome", "failureClass", "exitCode", "added", "replaced", "removed", "unchanged",
                                    "apduCount", "milliseconds", "dmbootVersion", "kvn", "tree", "warnings", "error"]

    static func parse(file: String) throws -> [StationLogLine] {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "every line is complete")
        return try text.split(separator: "\n").enumerated().map { number, line in
            try parse(line: String(line), number: number + 1)
        }
    }

    static func parse(line: String, number: Int) throws -> StationLogLine {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "line \(number)")
        XCTAssertEqual(Set(object.keys), keys, "line \(number)")
        func optional<T>(_ key: String, _ type: T.Type) throws -> T? {
            if object[key] is NSNull { return nil }
            return try XCTUnwrap(object[key] as? T, "line \(number): \(key)")
        }
        func required<T>(_ key: String, _ type: T.Type) throws -> T {
            try XCTUnwrap(object[key] as? T, "line \(number): \(key)")
        }
        let time = try XCTUnwrap(ISO8601DateFormatter().date(from: try required("time", String.self)), "line \(number): time")
        let entry = StationLogLine(
            time: time, reader: try required("reader", String.self), cardIdentity: try optional("cardIdentity", String.self),
            outcome: try required("outcome", String.self), exitCode: try required("exitCode", Int.self),
            added: try required("added", [String].self), replaced: try required("replaced", [String].self),
            removed: try required("removed", [String].self), unchanged: try required("unchanged", [String].self),
            apduCount: try optional("apduCount", Int.self), milliseconds: try required("milliseconds", Double.self),
            tree: try optional("tree", String.self), error: try optional("error", String.self))
        XCTAssertGreaterThanOrEqual(entry.milliseconds, 0, "line \(number)")
        XCTAssertEqual(entry.exitCode == 0, entry.error == nil, "line \(number): an error exactly when it failed")
        for secret in ["D0B1C2D3E4F5061728394A5B6C7D8E9F", "E0C1D2E3F405162738495A6B7C8D9EAF"] {
            XCTAssertFalse(line.uppercased().contains(secret), "line \(number) holds a key")
        }
        return entry
    }
}

/// A line of `dmboot-sim --feed`'s output.
struct FeederReport: Decodable {
    var card: Int
    var port: UInt16
    var profile: String
    var serialNumber: String?
    var identity: String?
    var outcome: String
    var commands: Int
    var externalAuthenticates: Int
    var keyDiversificationData: String?

    static func parse(_ text: String) throws -> [FeederReport] {
        try text.split(separator: "\n").map { try JSONDecoder().decode(FeederReport.self, from: Data($0.utf8)) }
            .sorted { $0.card < $1.card }
    }
}

/// A dmboot process running beside the test, its output going to files.
final class BackgroundProcess {
    private let process = Process()
    private let stdout: URL
    private let stderr: URL

    init(_ arguments: [String], in folder: URL, environment: [String: String] = [:], executable: String = "dmboot") throws {
        let name = UUID().uuidString
        stdout = folder.appendingPathComponent("\(name).out")
        stderr = folder.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.executableURL = Executable.productsDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// A process still running when its test ends (the test failed or threw
    /// before `finish()`) is killed, so that no feeder or station of one test
    /// serves a reader slot under the next.
    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    var isRunning: Bool { process.isRunning }
    var pid: pid_t { process.processIdentifier }

    /// `dmboot-sim --feed count` on the rig's slots `slots`.
    static func feeder(_ count: Int, slots: Range<Int>, _ extra: [String] = [], in folder: URL) throws -> BackgroundProcess {
        let ports = Rig.slots[slots].flatMap { ["--port", "\($0.port)"] }
        return try BackgroundProcess(["--feed", "\(count)"] + ports + extra, in: folder, executable: "dmboot-sim")
    }

    /// What the process has written to stdout so far.
    var output: String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }

    /// What the process has written to stderr so far.
    var errorOutput: String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }

    /// Waits until a station shows a reader waiting for a card: its keys are
    /// loaded and it watches the readers, so a feeder started now cannot pull
    /// its cards unused while the station is still starting (a PKCS#11 token
    /// takes seconds to open on a loaded machine).
    func waitUntilWatching(file: StaticString = #filePath, line: UInt = #line) throws {
        let watching = { self.errorOutput.contains(": waiting for a card") }
        try waitUntil("the station to watch its readers", file: file, line: line) { watching() || !process.isRunning }
        if !watching() { XCTFail("the station ended before it watched a reader: \(errorOutput)", file: file, line: line) }
    }

    /// Waits for the process to end (killing it after two minutes).
    func finish() throws -> Executable.Result {
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(process.executableURL?.lastPathComponent ?? "") \(process.arguments?.joined(separator: " ") ?? "") did not end")
        }
        process.waitUntilExit()
        return Executable.Result(status: process.terminationStatus,
                                 stdout: try String(contentsOf: stdout, encoding: .utf8),
                                 stderr: try String(contentsOf: stderr, encoding: .utf8))
    }
}
