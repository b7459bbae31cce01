import Foundation
import Synchronization

/// An operator in software for a factory station: it inserts virtual cards
/// into several vpcd slots, one after another in each, pulls each card once
/// the host has finished with it (reset or power-off after commands), and
/// reports what every card saw. Slots run in parallel, so insertions and
/// removals on different readers interleave as they would at a real bench.
public final class CardFeeder: Sendable {
    public struct Configuration: Sendable {
        /// vpcd ports, one per reader slot.
        public var ports: [UInt16]
        public var host = "127.0.0.1"
        /// Card i (from 0) is made from `profiles[i % profiles.count]`.
        public var profiles: [CardProfile]
        public var count: Int
        /// Seconds between pulling a card and inserting the next in the same
        /// slot. pcscd polls vpcd slots every 400 ms, so a shorter gap may let
        /// it miss the swap.
        public var gap: Double = 0.5
        /// Seconds a card may wait for the host before it is pulled unused.
        public var untouchedTimeout: Double = 30
        /// Seconds the card waits before each answer.
        public var responseDelay: Double = 0
        /// Seconds to keep retrying while a slot's driver does not listen yet.
        public var connectTimeout: Double = 10

        public init(ports: [UInt16], profiles: [CardProfile], count: Int) {
            self.ports = ports
            self.profiles = profiles
            self.count = count
        }
    }

    /// What one fed card saw.
    public struct CardReport: Codable, Sendable {
        public var card: Int
        public var port: UInt16
        public var profile: String
        /// The PKCS#15 serial number the card was given (hex), if it has an application.
        public var serialNumber: String?
        /// "used": the host reset or powered it off after commands; "untouched": nobody talked to it in time.
        public var outcome: String
        public var commands: Int
        public var externalAuthenticates: Int
        public var secondsInReader: Double
    }

    private struct Progress {
        var nextCard = 0
        var stopping = false
        var reports: [CardReport] = []
        var failure: Error?
    }

    private let configuration: Configuration
    private let progress = Mutex(Progress())
    /// Called for each card when it is pulled, from the slot's thread.
    private let onCard: @Sendable (CardReport) -> Void

    public init(configuration: Configuration, onCard: @escaping @Sendable (CardReport) -> Void = { _ in }) {
        self.configuration = configuration
        self.onCard = onCard
    }

    /// Each card gets its own PKCS#15 serial number, so that a station keeps
    /// one tree per card: the profile's serial with the card number in the
    /// last four bytes.
    public static func profile(_ profile: CardProfile, numbered number: Int) -> CardProfile {
        guard var image = profile.pkcs15 else { return profile }
        let prefix = String(image.serialNumber.filter(\.isHexDigit).prefix(8))
        image.serialNumber = prefix + String(format: "%08X", UInt32(truncatingIfNeeded: number))
        var numbered = profile
        numbered.pkcs15 = image
        return numbered
    }

    /// Feeds every card, then returns the reports in card order.
    public func run() throws -> [CardReport] {
        for profile in configuration.profiles { try profile.validate() }
        let group = DispatchGroup()
        for port in configuration.ports {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do {
                    while let number = takeCard() {
                        let report = try feed(number, into: port)
                        progress.withLock { $0.reports.append(report) }
                        onCard(report)
                        usleep(useconds_t(configuration.gap * 1_000_000))
                    }
                } catch {
                    progress.withLock { progress in
                        if progress.failure == nil { progress.failure = error }
                        progress.stopping = true
                    }
                }
            }
            thread.name = "feeder-\(port)"
            thread.start()
        }
        group.wait()
        return try progress.withLock { progress in
            if let failure = progress.failure { throw failure }
            return progress.reports.sorted { $0.card < $1.card }
        }
    }

    /// Inserts no further card; the cards in the readers are pulled when the host is done with them.
    public func stop() {
        progress.withLock { $0.stopping = true }
    }

    private func takeCard() -> Int? {
        progress.withLock { progress in
            guard !progress.stopping, progress.nextCard < configuration.count else { return nil }
            defer { progress.nextCard += 1 }
            return progress.nextCard
        }
    }

    private func feed(_ number: Int, into port: UInt16) throws -> CardReport {
        let profile = Self.profile(configuration.profiles[number % configuration.profiles.count], numbered: number)
        let card = try VirtualCard(profile: profile)
        let connection = VPCDConnection(card: card)
        connection.responseDelay = configuration.responseDelay
        var wasUsed = false
        let used = DispatchSemaphore(value: 0)
        connection.onSessionEnd = {
            wasUsed = true
            used.signal()
        }
        try connection.connect(host: configuration.host, port: port, retryFor: configuration.connectTimeout)
        let inserted = Date()
        // The operator's hand: pulls the card once it is used, or after the timeout.
        let untouchedTimeout = configuration.untouchedTimeout
        Thread.detachNewThread {
            _ = used.wait(timeout: .now() + untouchedTimeout)
            connection.close()
        }
        defer { used.signal() }
        try connection.serve()
        return CardReport(card: number, port: port, profile: profile.name, serialNumber: profile.pkcs15?.serialNumber,
                          outcome: wasUsed ? "used" : "untouched", commands: card.commandCount,
                          externalAuthenticates: card.externalAuthenticateCount,
                          secondsInReader: (Date().timeIntervalSince(inserted) * 1000).rounded() / 1000)
    }
}
