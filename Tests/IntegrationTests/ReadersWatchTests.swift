import APDUScript
import CardSimulator
import Foundation
import Synchronization
import TestSupport
import XCTest

/// `dmboot readers --watch` through pcscd (issue 29): a virtual card
/// inserted and pulled is reported with its ATR decoded, as pcsc_scan (from
/// pcsc-tools, which we did not write) sees the same events.
final class ReadersWatchTests: XCTestCase {
    /// A process whose standard output is read line by line while it runs.
    final class Watching {
        /// What the process wrote so far; the pipe's handler appends on its own thread.
        final class Output: Sendable {
            let text = Mutex("")
        }

        let process = Process()
        private let output = Output()

        init(_ executable: URL, _ arguments: [String]) throws {
            process.executableURL = executable
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [output] handle in
                let data = handle.availableData
                output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
        }

        var lines: [String] { output.text.withLock { $0 }.split(separator: "\n").map(String.init) }

        func waitFor(_ what: String, _ match: (String) -> Bool) throws {
            try waitUntil(what, seconds: 15) { lines.contains(where: match) }
        }

        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    func events(_ watch: Watching) -> [[String: Any]] {
        watch.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func testAnInsertedAndPulledCardIsReportedWithItsATRDecodedAsPcscScanSeesIt() throws {
        let reader = Rig.slots[3].reader
        let watch = try Watching(Executable.productsDirectory.appendingPathComponent("dmboot"), ["readers", "--watch", "--json"])
        let scan = try Watching(URL(fileURLWithPath: "/usr/bin/stdbuf"), ["-oL", "/usr/bin/pcsc_scan", "-n"])
        defer { _ = scan.stop() }
        try watch.waitFor("the readers that are there") { $0.contains("reader-added") && $0.contains(reader) }
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 3)
        try watch.waitFor("the card inserted") { $0.contains("card-inserted") && $0.contains(reader) }
        let insertion = try XCTUnwrap(events(watch).first { $0["event"] as? String == "card-inserted" && $0["reader"] as? String == reader })
        XCTAssertEqual(insertion["atr"] as? String, BuiltInProfiles.demoATR)
        XCTAssertEqual(insertion["protocols"] as? [String], ["T=1"])
        XCTAssertEqual(insertion["convention"] as? String, "direct")
        XCTAssertEqual(insertion["historicalText"] as? String, "dmboot-vcard")
        XCTAssertEqual(insertion["extendedLength"] as? Bool, false)
        try Rig.remove(inserted, slot: 3)
        try watch.waitFor("the card removed") { $0.contains("card-removed") && $0.contains(reader) }
        // pcsc_scan prints the ATR with spaces between the bytes.
        let spaced = stride(from: 0, to: BuiltInProfiles.demoATR.count, by: 2).map {
            String(Array(BuiltInProfiles.demoATR)[$0..<($0 + 2)])
        }.joined(separator: " ")
        try scan.waitFor("pcsc_scan's view of the same card") { $0.contains(spaced) }
        try scan.waitFor("pcsc_scan's view of the removal") { $0.contains("Card removed") }
        XCTAssertEqual(watch.stop(), 0, "SIGTERM ends the watch cleanly")
    }

    func testTheTextFormSaysTheSame() throws {
        let reader = Rig.slots[3].reader
        let watch = try Watching(Executable.productsDirectory.appendingPathComponent("dmboot"), ["readers", "--watch"])
        try watch.waitFor("the readers") { $0.contains("reader-added") && $0.contains(reader) }
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 3)
        defer { try? Rig.remove(inserted, slot: 3) }
        try watch.waitFor("the card inserted") {
            $0.contains("card-inserted  \(reader)  ATR \(BuiltInProfiles.demoATR)  T=1, direct convention")
                && $0.contains("\"dmboot-vcard\"")
        }
        XCTAssertEqual(watch.stop(), 0)
    }

    /// apdu-shell's `watch`: the same events, ended by Ctrl-C (the flag the shell's SIGINT handler raises).
    func testTheShellsWatchShowsTheEventsUntilCtrlC() throws {
        let reader = Rig.slots[3].reader
        final class Lines: Sendable { let all = Mutex<[String]>([]) }
        let lines = Lines()
        let ended = DispatchSemaphore(value: 0)
        let outcome = Mutex<Error?>(nil)
        Thread.detachNewThread {
            let interpreter = ScriptInterpreter(write: { line in lines.all.withLock { $0.append(line) } })
            do {
                try interpreter.run(ScriptParser().parse("watch", file: "test"))
            } catch {
                outcome.withLock { $0 = error }
            }
            ended.signal()
        }
        func seen(_ text: String) -> Bool { lines.all.withLock { $0.contains { $0.contains(text) } } }
        try waitUntil("the readers") { seen("reader-added  \(reader)") }
        let inserted = try Rig.insert(try VirtualCard(profile: BuiltInProfiles.demo), slot: 3)
        defer { try? Rig.remove(inserted, slot: 3) }
        try waitUntil("the card inserted") { seen("card-inserted  \(reader)  ATR \(BuiltInProfiles.demoATR)") }
        Interrupt.raise()
        XCTAssertEqual(ended.wait(timeout: .now() + 15), .success, "Ctrl-C ends the watch")
        XCTAssertNil(outcome.withLock { $0 })
        XCTAssertTrue(seen("watch ended"))
    }
}
