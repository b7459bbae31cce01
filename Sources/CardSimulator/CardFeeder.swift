import APDU
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
        /// The number of the first card: a second batch starts where the
        /// first ended, so its serials, KDDs and ICCIDs are new.
        public var firstCard = 0
        /// The ICCID's first digits (1 to 12), before the card number; zeros fill the rest of the 12.
        public var iccidPrefix = CardFeeder.defaultICCIDPrefix
        /// Seconds between pulling a card and inserting the next in the same
        /// slot: an operator's hand. Any gap, 0 too, is safe: a card is pulled
        /// only while vpcd still holds its connection (see
        /// `VPCDConnection.onSessionEnd`), so pcscd's next presence check sees
        /// it gone before it can take the next card.
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
        /// The identity a host files the card under: "iccid:<digits>" when it has EF.ICCID, else "pkcs15:<serial>".
        public var identity: String?
        /// The key diversification data the card was given (hex), if it has a security domain.
        public var keyDiversificationData: String?
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

    /// The ICCID of fed card n is this prefix and n in eight digits (issuer identifier 89 01, telecom, country 01).
    public static let defaultICCIDPrefix = "890100000000"
    /// Card numbers fit the ICCID's last eight digits.
    public static let cardNumbers = 0...99_999_999

    /// Each card gets its own PKCS#15 serial number and ICCID, so that a
    /// station keeps one tree per card, and its own key diversification
    /// data, so that a batch has per-card keys (diversified, or listed in a
    /// key table): the profile's serial and KDD with the card number in the
    /// last four bytes, and an ICCID of `iccidPrefix` (padded with zeros to
    /// 12 digits) then the card number in eight digits.
    public static func profile(_ profile: CardProfile, numbered number: Int,
                               iccidPrefix: String = defaultICCIDPrefix) -> CardProfile {
        var numbered = profile
        let suffix = String(format: "%08X", UInt32(truncatingIfNeeded: number))
        if var image = profile.pkcs15 {
            image.serialNumber = String(image.serialNumber.filter(\.isHexDigit).prefix(8)) + suffix
            numbered.pkcs15 = image
        }
        if var domain = profile.scp03 {
            let kdd = (domain.kdd ?? "").filter(\.isHexDigit)
            domain.kdd = String((kdd + String(repeating: "0", count: 12)).prefix(12)) + suffix
            numbered.scp03 = domain
        }
        if let index = numbered.files.children?.firstIndex(where: { $0.fid.uppercased() == "2FE2" }) {
            numbered.files.children?[index].content = iccidContent(number: number, prefix: iccidPrefix)
        }
        return numbered
    }

    /// EF.ICCID bytes (TS 102 221 13.2, digits swapped in each byte) of the prefix padded to 12 digits, then nnnn nnnn.
    static func iccidContent(number: Int, prefix: String = defaultICCIDPrefix) -> String {
        let padded = prefix.padding(toLength: 12, withPad: "0", startingAt: 0)
        let digits = Array(padded + String(format: "%08d", number % 100_000_000))
        return stride(from: 0, to: digits.count, by: 2).map { String([digits[$0 + 1], digits[$0]]) }.joined()
    }

    /// The identity dmboot files this card under: its ICCID digits when it has EF.ICCID.
    static func identity(of profile: CardProfile) -> String? {
        guard let content = profile.files.children?.first(where: { $0.fid.uppercased() == "2FE2" })?.content,
              let bytes = try? Hex.decode(content) else { return profile.pkcs15.map { "pkcs15:\($0.serialNumber)" } }
        let nibbles: [UInt8] = bytes.prefix(10).flatMap { [$0 & 0x0F, $0 >> 4] }
        let digits: [String] = nibbles.prefix { $0 <= 9 }.map { String($0) }
        return "iccid:" + digits.joined()
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
        let profile = Self.profile(configuration.profiles[number % configuration.profiles.count],
                                   numbered: configuration.firstCard + number, iccidPrefix: configuration.iccidPrefix)
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
        let socket = connection.socket
        Thread.detachNewThread {
            _ = used.wait(timeout: .now() + untouchedTimeout)
            socket.close()
        }
        defer { used.signal() }
        try connection.serve()
        return CardReport(card: configuration.firstCard + number, port: port, profile: profile.name, serialNumber: profile.pkcs15?.serialNumber,
                          identity: Self.identity(of: profile),
                          keyDiversificationData: profile.scp03?.kdd,
                          outcome: wasUsed ? "used" : "untouched", commands: card.commandCount,
                          externalAuthenticates: card.externalAuthenticateCount,
                          secondsInReader: (Date().timeIntervalSince(inserted) * 1000).rounded() / 1000)
    }
}
