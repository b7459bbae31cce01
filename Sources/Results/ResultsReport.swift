import Foundation

/// One line of `results report`: a station's cards in one hour (UTC).
public struct ReportRow: Codable, Sendable, Equatable {
    public var station: String
    /// The start of the hour.
    public var hour: Date
    public var cards: Int
    public var succeeded: Int
    public var failed: Int
    /// Failures per class (alreadyProvisioned among them).
    public var failures: [String: Int]
    /// Cards refused as already provisioned, plus successes stored as conflicts.
    public var duplicates: Int
    public var conflicts: Int
    /// Cards per minute between the first and the last card of the hour; nil for a single card.
    public var cardsPerMinute: Double?
    /// Mean time per card, milliseconds.
    public var meanMilliseconds: Double
}

extension ResultsStore {
    /// Cards, failures by class, duplicates and rate per station and hour.
    public func report(_ filter: ResultsFilter) throws -> [ReportRow] {
        let (condition, parameters) = filter.sql
        let hour = "date_trunc('hour', started_at AT TIME ZONE 'UTC')"
        let totals = try connection.execute("""
            SELECT station_id, extract(epoch FROM \(hour)) AS hour, count(*) AS cards,
                   count(*) FILTER (WHERE exit_code = 0) AS succeeded,
                   count(*) FILTER (WHERE outcome = 'alreadyProvisioned') AS refused,
                   count(*) FILTER (WHERE conflicts_with IS NOT NULL) AS conflicts,
                   extract(epoch FROM max(started_at) - min(started_at)) AS span,
                   avg(duration_ms) AS mean_ms
            FROM dmboot.card_results WHERE \(condition)
            GROUP BY station_id, \(hour) ORDER BY 2, 1
            """, parameters)
        let classes = try connection.execute("""
            SELECT station_id, extract(epoch FROM \(hour)) AS hour, failure_class, count(*) AS n
            FROM dmboot.card_results WHERE (\(condition)) AND failure_class IS NOT NULL
            GROUP BY 1, 2, 3
            """, parameters)
        var failures: [String: [String: Int]] = [:]
        for row in 0..<classes.rows.count {
            let key = "\(classes.value(row, "station_id") ?? "")|\(classes.value(row, "hour") ?? "")"
            failures[key, default: [:]][classes.value(row, "failure_class") ?? ""] = Int(classes.value(row, "n") ?? "0") ?? 0
        }
        return (0..<totals.rows.count).map { row in
            func int(_ column: String) -> Int { Int(totals.value(row, column) ?? "0") ?? 0 }
            let station = totals.value(row, "station_id") ?? ""
            let hour = totals.value(row, "hour") ?? "0"
            let cards = int("cards"), succeeded = int("succeeded"), conflicts = int("conflicts")
            let span = Double(totals.value(row, "span") ?? "0") ?? 0
            return ReportRow(station: station, hour: Date(timeIntervalSince1970: Double(hour) ?? 0), cards: cards,
                             succeeded: succeeded, failed: cards - succeeded,
                             failures: failures["\(station)|\(hour)"] ?? [:], duplicates: int("refused") + conflicts,
                             conflicts: conflicts, cardsPerMinute: cards > 1 && span > 0 ? Double(cards - 1) / span * 60 : nil,
                             meanMilliseconds: Double(totals.value(row, "mean_ms") ?? "0") ?? 0)
        }
    }
}
