import ExitContract
import Foundation

/// The one definition of a line's numbers (dmboot(1), THE NUMBERS), used by
/// the station's live view, its summary, `results report`, the dashboard and
/// the metrics alike, so that one run never shows two figures for one thing.
///
/// Every card is exactly one of: succeeded (provisioned or unchanged), a
/// duplicate (a card the line had already done: refused as already
/// provisioned, provisioned a second time in the same run, or stored as a
/// conflict after an outage), or failed (any other failure, by class). A
/// duplicate tells about the card, not about the line: it is never a failure
/// and stays out of the yield.
public struct LineFigures: Codable, Sendable, Equatable {
    /// What one card counts as.
    public enum Kind: Equatable, Sendable {
        case succeeded
        case duplicate
        case failed(failureClass: String)

        /// The kind of a card by its outcome and exit status, as the station
        /// log and the results database carry them. `conflict` is a success
        /// the results database stored as a second success of its card.
        public static func of(outcome: String, exitCode: Int32, failureClass: String?, conflict: Bool = false) -> Kind {
            if outcome == duplicateOutcome || conflict || exitCode == ExitStatus.alreadyProvisioned.rawValue { return .duplicate }
            if exitCode == ExitStatus.success.rawValue { return .succeeded }
            return .failed(failureClass: failureClass ?? outcome)
        }
    }

    /// The station log's outcome of a card provisioned a second time in one run.
    public static let duplicateOutcome = "duplicate"

    public var cards = 0
    public var succeeded = 0
    public var duplicates = 0
    /// Failed cards per failure class (`ExitStatus.failureClass`); never a duplicate.
    public var failures: [String: Int] = [:]
    /// When the first card was taken, and when the last one finished.
    public var firstStart: Date?
    public var lastEnd: Date?

    public init() {}

    /// Figures from counts a database summed up (the same classes, the same span).
    public init(succeeded: Int, duplicates: Int, failures: [String: Int], firstStart: Date?, lastEnd: Date?) {
        self.succeeded = succeeded
        self.duplicates = duplicates
        self.failures = failures
        self.cards = succeeded + duplicates + failures.values.reduce(0, +)
        self.firstStart = firstStart
        self.lastEnd = lastEnd
    }

    /// Counts one card taken at `start` that took `milliseconds`.
    public mutating func add(_ kind: Kind, start: Date, milliseconds: Double) {
        cards += 1
        switch kind {
        case .succeeded: succeeded += 1
        case .duplicate: duplicates += 1
        case .failed(let failureClass): failures[failureClass, default: 0] += 1
        }
        let end = start.addingTimeInterval(milliseconds / 1000)
        firstStart = min(firstStart ?? start, start)
        lastEnd = max(lastEnd ?? end, end)
    }

    /// Adds another station's or hour's figures (a totals row).
    public mutating func merge(_ other: LineFigures) {
        cards += other.cards
        succeeded += other.succeeded
        duplicates += other.duplicates
        failures.merge(other.failures, uniquingKeysWith: +)
        firstStart = [firstStart, other.firstStart].compactMap { $0 }.min()
        lastEnd = [lastEnd, other.lastEnd].compactMap { $0 }.max()
    }

    public var failed: Int { failures.values.reduce(0, +) }

    /// Succeeded ÷ (succeeded + failed), 0...1; nil before the first such card.
    public var yield: Double? {
        succeeded + failed > 0 ? Double(succeeded) / Double(succeeded + failed) : nil
    }

    /// Every card (duplicates too: the line handled them) per minute, from
    /// the start of the first card to the end of the last; nil below two
    /// cards, where a rate would only be one card's time.
    public var cardsPerMinute: Double? {
        guard cards >= 2, let firstStart, let lastEnd else { return nil }
        let seconds = lastEnd.timeIntervalSince(firstStart)
        return seconds > 0 ? Double(cards) / seconds * 60 : nil
    }

    public var cardsPerHour: Double? { cardsPerMinute.map { $0 * 60 } }

    /// "97.5 %", or "-" before the first card that counts.
    public var yieldText: String { yield.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }

    /// "8.4", or "-" below two cards.
    public var rateText: String { cardsPerMinute.map { String(format: "%.1f", $0) } ?? "-" }

    /// "authenticationRefused×2, cardRemoved×1", by class name.
    public var failuresText: String {
        failures.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
    }

    /// The JSON form every report shares: counts, yield and rate with their definitions' names.
    public struct Summary: Codable, Sendable, Equatable {
        public let cards: Int
        public let succeeded: Int
        public let duplicates: Int
        public let failed: Int
        public let failures: [String: Int]
        /// Percent, one decimal; nil before the first card that counts.
        public let yieldPercent: Double?
        public let cardsPerMinute: Double?
    }

    public var summary: Summary {
        Summary(cards: cards, succeeded: succeeded, duplicates: duplicates, failed: failed, failures: failures,
                yieldPercent: yield.map { ($0 * 1000).rounded() / 10 },
                cardsPerMinute: cardsPerMinute.map { ($0 * 10).rounded() / 10 })
    }
}
