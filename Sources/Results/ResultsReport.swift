import Foundation
import LineFigures

/// One line of `results report`: a station's cards in one hour (UTC), every
/// figure as LineFigures defines it.
public struct ReportRow: Codable, Sendable, Equatable {
    /// The station; "all" in the totals row.
    public var station: String
    /// The start of the hour; nil in the totals row.
    public var hour: Date?
    public var cards: Int
    public var succeeded: Int
    /// Failed cards; duplicates are never among them.
    public var failed: Int
    /// Failures per class (alreadyProvisioned is never one: it is a duplicate).
    public var failures: [String: Int]
    /// Cards refused as already provisioned, plus successes stored as conflicts.
    public var duplicates: Int
    /// The successes stored as conflicts, among the duplicates.
    public var conflicts: Int
    /// Succeeded ÷ (succeeded + failed), percent; nil with neither.
    public var yieldPercent: Double?
    /// LineFigures.cardsPerMinute; nil for a single card.
    public var cardsPerMinute: Double?
    /// Mean time per card, milliseconds.
    public var meanMilliseconds: Double

    public init(station: String, hour: Date?, figures: LineFigures, conflicts: Int, meanMilliseconds: Double) {
        self.station = station
        self.hour = hour
        self.cards = figures.cards
        self.succeeded = figures.succeeded
        self.failed = figures.failed
        self.failures = figures.failures
        self.duplicates = figures.duplicates
        self.conflicts = conflicts
        self.yieldPercent = figures.summary.yieldPercent
        self.cardsPerMinute = figures.cardsPerMinute
        self.meanMilliseconds = meanMilliseconds
    }
}

extension ResultsStore {
    /// The SQL of LineFigures.Kind over dmboot.card_results: a duplicate is a
    /// refusal as already provisioned or a success stored as a conflict.
    static let duplicateSQL = "(outcome = 'alreadyProvisioned' OR conflicts_with IS NOT NULL)"
    static let succeededSQL = "(outcome IN ('provisioned', 'unchanged') AND conflicts_with IS NULL)"
    static let failedSQL = "(outcome = 'failed')"
    static let endSQL = "(started_at + duration_ms * interval '1 millisecond')"

    /// Figures per group of `grouping` (SQL expressions, named g0, g1...) over the records `filter` takes.
    func figures(grouping: [String], _ filter: ResultsFilter) throws -> [(keys: [String], figures: LineFigures, conflicts: Int,
                                                                         meanMilliseconds: Double)] {
        let (condition, parameters) = filter.sql
        let keys = grouping.enumerated().map { "\($1) AS g\($0)" }.joined(separator: ", ")
        let groupBy = grouping.isEmpty ? "" : "GROUP BY " + grouping.indices.map { "\($0 + 1)" }.joined(separator: ", ")
        let totals = try connection.execute("""
            SELECT \(keys.isEmpty ? "" : keys + ",")
                   count(*) FILTER (WHERE \(Self.succeededSQL)) AS succeeded,
                   count(*) FILTER (WHERE \(Self.duplicateSQL)) AS duplicates,
                   count(*) FILTER (WHERE conflicts_with IS NOT NULL) AS conflicts,
                   extract(epoch FROM min(started_at)) AS first_start, extract(epoch FROM max(\(Self.endSQL))) AS last_end,
                   avg(duration_ms) AS mean_ms
            FROM dmboot.card_results WHERE \(condition) \(groupBy) HAVING count(*) > 0
            ORDER BY \(grouping.isEmpty ? "1" : grouping.indices.map { "\($0 + 1)" }.joined(separator: ", "))
            """, parameters)
        let classes = try connection.execute("""
            SELECT \(keys.isEmpty ? "" : keys + ",") failure_class, count(*) AS n
            FROM dmboot.card_results WHERE (\(condition)) AND \(Self.failedSQL)
            GROUP BY \((grouping.indices.map { "\($0 + 1)" } + ["failure_class"]).joined(separator: ", "))
            """, parameters)
        var failures: [[String]: [String: Int]] = [:]
        for row in 0..<classes.rows.count {
            let key = grouping.indices.map { classes.value(row, "g\($0)") ?? "" }
            failures[key, default: [:]][classes.value(row, "failure_class") ?? ""] = Int(classes.value(row, "n") ?? "0") ?? 0
        }
        return (0..<totals.rows.count).map { row in
            func int(_ column: String) -> Int { Int(totals.value(row, column) ?? "0") ?? 0 }
            func time(_ column: String) -> Date? {
                totals.value(row, column).flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
            }
            let key = grouping.indices.map { totals.value(row, "g\($0)") ?? "" }
            let figures = LineFigures(succeeded: int("succeeded"), duplicates: int("duplicates"), failures: failures[key] ?? [:],
                                      firstStart: time("first_start"), lastEnd: time("last_end"))
            return (key, figures, int("conflicts"), Double(totals.value(row, "mean_ms") ?? "0") ?? 0)
        }
    }

    /// The totals row: every record `filter` takes, as one group.
    public func reportTotal(_ filter: ResultsFilter) throws -> ReportRow {
        let total = try figures(grouping: [], filter).first
        return ReportRow(station: "all", hour: nil, figures: total?.figures ?? LineFigures(), conflicts: total?.conflicts ?? 0,
                         meanMilliseconds: total?.meanMilliseconds ?? 0)
    }

    /// Cards, failures by class, duplicates, yield and rate per station and hour.
    public func report(_ filter: ResultsFilter) throws -> [ReportRow] {
        try figures(grouping: ["extract(epoch FROM date_trunc('hour', started_at AT TIME ZONE 'UTC'))", "station_id"], filter)
            .map { group in
                ReportRow(station: group.keys[1], hour: Date(timeIntervalSince1970: Double(group.keys[0]) ?? 0),
                          figures: group.figures, conflicts: group.conflicts, meanMilliseconds: group.meanMilliseconds)
            }
    }
}
