import ArgumentParser
import CardSimulator
import Foundation
import Synchronization

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Insert virtual cards into vpcd reader slots of pcscd and serve them until stopped.",
        discussion: """
        The card is the built-in demo card unless --profile names a JSON profile (dmboot(1), SIMULATOR PROFILES). \
        pcscd must run with the vsmartcard vpcd driver; slot N listens on port 35963 + N. \
        With several --port, each slot gets its own card: the profile at the same position, or the last one given. \
        The cards are removed when this process ends (SIGINT, SIGTERM) or pcscd stops.

        With --feed COUNT it plays a station operator: it inserts COUNT cards, one after another in each slot and \
        in parallel across slots, each with its own PKCS#15 serial number and the profiles taken in turn, pulls each \
        card once the host has reset it after use, and prints a JSON line per card (commands, EXTERNAL \
        AUTHENTICATEs, seconds in the reader).
        """)

    @Option(help: ArgumentHelp("Card profile (JSON); repeat for several slots or, with --feed, cards in turn. Default: the built-in demo card.", valueName: "file"))
    var profile: [String] = []

    @Option(help: ArgumentHelp("A built-in card personality instead of a profile file: \(Personality.allCases.map(\.rawValue).joined(separator: ", ")); repeatable like --profile.", valueName: "name"))
    var personality: [String] = []

    @Option(help: ArgumentHelp("vpcd port of a reader slot; repeat to serve several (default 35963, the first slot of Debian's vpcd configuration).", valueName: "port"))
    var port: [UInt16] = []

    @Option(help: ArgumentHelp("Feed this many cards through the slots, pulling each once the host is done with it.", valueName: "count"))
    var feed: Int?

    @Option(help: ArgumentHelp("With --feed: seconds between pulling a card and inserting the next (pcscd polls every 0.4 s).", valueName: "seconds"))
    var gap: Double = 0.5

    @Option(help: ArgumentHelp("With --feed: seconds a card waits for the host before it is pulled unused.", valueName: "seconds"))
    var untouchedTimeout: Double = 30

    @Option(help: ArgumentHelp("Milliseconds each card waits before answering a command (a slow card).", valueName: "ms"))
    var responseDelay: Double = 0

    @Option(help: "Address of the host running pcscd.")
    var host = "127.0.0.1"

    @Option(help: "Seconds to keep retrying while the vpcd driver does not listen yet.")
    var connectTimeout: Double = 10

    @Flag(help: "Print the profile the card would use (the built-in one when no --profile) and exit.")
    var printProfile = false

    @Option(help: ArgumentHelp("Write the card's SCP03 key file (mode 0600) for --keys, and exit.", valueName: "file"))
    var writeKeys: String?

    @Flag(help: "With --write-keys: replace a file that exists (it may hold other keys).")
    var force = false

    func validate() throws {
        if let feed { try NumberRange.check(feed, "--feed", 1...1_000_000, unit: "a number of cards") }
        for name in personality where Personality(rawValue: name) == nil {
            throw ValidationError("--personality takes \(Personality.allCases.map(\.rawValue).joined(separator: ", ")); got \(name)")
        }
        if !personality.isEmpty && !profile.isEmpty { throw ValidationError("give --profile or --personality, not both") }
        try NumberRange.check(gap, "--gap", 0...3600)
        try NumberRange.check(untouchedTimeout, "--untouched-timeout", 0.1...86_400)
        try NumberRange.check(responseDelay, "--response-delay", 0...60_000, unit: "milliseconds")
        try NumberRange.check(connectTimeout, "--connect-timeout", 0...3600)
        if feed == nil && profile.count + personality.count > max(port.count, 1) {
            throw ValidationError("\(profile.count + personality.count) profiles for \(max(port.count, 1)) slot(s): give a --port per profile, or --feed")
        }
    }

    func run() throws {
        var profiles = try profile.map { try CardProfile.load(from: URL(fileURLWithPath: $0)) }
        profiles += personality.compactMap { Personality(rawValue: $0)?.profile }
        if profiles.isEmpty { profiles = [BuiltInProfiles.demo] }
        let ports = port.isEmpty ? [VPCDConnection.defaultPort] : port
        if let feed { return try runFeeder(profiles: profiles, ports: ports, count: feed) }
        let cardProfile = profiles[0]
        if printProfile {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(cardProfile))
            FileHandle.standardOutput.write(Data("\n".utf8))
            return
        }
        if let writeKeys {
            guard let domain = cardProfile.scp03 else {
                throw ValidationError("the card \"\(cardProfile.name)\" has no SCP03 security domain, so no keys")
            }
            if !force && FileManager.default.fileExists(atPath: writeKeys) { throw SimulatorCommandError.keyFileExists(writeKeys) }
            try PrivateFile.write(domain.keyFileJSON(), to: writeKeys)
            Output.progress("dmboot simulate: wrote the SCP03 keys of \"\(cardProfile.name)\" to \(writeKeys) (mode 0600)")
            return
        }
        var inserted: [VPCDConnection] = []
        for (index, port) in ports.enumerated() {
            let slotProfile = profiles[min(index, profiles.count - 1)]
            let connection = VPCDConnection(card: try VirtualCard(profile: slotProfile))
            connection.responseDelay = responseDelay / 1000
            try connection.connect(host: host, port: port, retryFor: connectTimeout)
            Output.progress("dmboot simulate: \"\(slotProfile.name)\" inserted in the vpcd slot at \(host):\(port)")
            inserted.append(connection)
        }
        let connections = inserted
        let termination = onTermination { connections.forEach { $0.close() } }
        defer { termination.forEach { $0.cancel() } }
        let group = DispatchGroup()
        let failures = FailureCollector()
        for connection in connections {
            group.enter()
            Thread {
                do { try connection.serve() } catch { failures.record(error) }
                group.leave()
            }.start()
        }
        group.wait()
        if let failure = failures.first { throw failure }
        Output.progress("dmboot simulate: card(s) removed")
    }

    private func runFeeder(profiles: [CardProfile], ports: [UInt16], count: Int) throws {
        var configuration = CardFeeder.Configuration(ports: ports, profiles: profiles, count: count)
        configuration.host = host
        configuration.gap = gap
        configuration.untouchedTimeout = untouchedTimeout
        configuration.responseDelay = responseDelay / 1000
        configuration.connectTimeout = connectTimeout
        let output = Mutex(FileHandle.standardOutput)
        let feeder = CardFeeder(configuration: configuration) { report in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let line = try? encoder.encode(report) else { return }
            output.withLock { $0.write(line + Data("\n".utf8)) }
        }
        let termination = onTermination {
            Output.progress("dmboot simulate: no more cards; pulling the cards in the readers once they are done")
            feeder.stop()
        }
        defer { termination.forEach { $0.cancel() } }
        let reports = try feeder.run()
        let untouched = reports.filter { $0.outcome != "used" }.count
        Output.progress("dmboot simulate: fed \(reports.count) card(s) through \(ports.count) slot(s), \(untouched) untouched")
    }

    /// Runs `handler` on SIGINT or SIGTERM while the returned sources live.
    private func onTermination(_ handler: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

}

/// The first error of several serving threads.
private final class FailureCollector: Sendable {
    private let errors = Mutex<[Error]>([])

    func record(_ error: Error) { errors.withLock { $0.append(error) } }
    var first: Error? { errors.withLock { $0.first } }
}

enum SimulatorCommandError: Error, CustomStringConvertible {
    case keyFileExists(String)

    var description: String {
        switch self {
        case .keyFileExists(let path):
            return "\(path) exists and may hold other keys; nothing was written (--force replaces it)"
        }
    }
}
