import Foundation
import LineFigures

/// What the dashboard shows, in one answer (GET /api/v1/overview): each
/// station's state and figures, each recent batch, the throughput of the
/// last hours and today's failure classes. Identities, counts and messages
/// only: never a key, a PSK, a PIN or the database's URL.
public struct LineOverview: Codable, Sendable {
    public struct Failure: Codable, Sendable, Equatable {
        public let time: Date
        public let failureClass: String
        public let exitCode: Int32
        public let error: String?
        public let cardIdentity: String?
        public let iccid: String?
        public let atr: String?
        public let reader: String?
    }

    public struct Station: Codable, Sendable {
        /// live (a card in the last two minutes), idle, stopped (the station stopped the line or
        /// exited on an error), silent (no heartbeat: the station or its database link is down),
        /// ended (stopped as asked).
        public let id: String
        public let state: String
        public let reason: String?
        public let batch: String?
        public let `operator`: String?
        public let readers: [String: String]
        public let lastHeard: Date?
        public let today: LineFigures.Summary
        public let thisHour: LineFigures.Summary
        public let cardsPerHour: Double?
        public let lastFailure: Failure?
    }

    public struct Batch: Codable, Sendable {
        public let batch: String
        public let figures: LineFigures.Summary
        public let firstCard: Date?
        public let lastCard: Date?
    }

    /// Cards started in [start, start + bucketMinutes).
    public struct Bucket: Codable, Sendable, Equatable {
        public let start: Date
        public let succeeded: Int
        public let duplicates: Int
        public let failed: Int
    }

    public let generatedAt: Date
    /// Midnight UTC: "today" is the UTC day, as `results report` hours are UTC hours.
    public let dayStart: Date
    public let stations: [Station]
    public let batches: [Batch]
    public let bucketMinutes: Int
    public let throughput: [Bucket]
    public let failureClassesToday: [String: Int]
}

extension ResultsStore {
    /// A heartbeat older than this says the station (or its database link) is down.
    public static let silentAfter: TimeInterval = 20
    /// A station with a card in this time is live, else idle.
    public static let liveWithin: TimeInterval = 120

    /// The dashboard's answer at `now`: a handful of indexed queries (scripts/bench-dashboard.sh times them).
    public func overview(now: Date = Date(), hours: Int = 12, bucketMinutes: Int = 15) throws -> LineOverview {
        let calendar = Self.utcCalendar
        let dayStart = calendar.startOfDay(for: now)
        let hourStart = calendar.dateInterval(of: .hour, for: now)?.start ?? now
        let today = try figuresByStation(since: dayStart)
        let thisHour = try figuresByStation(since: hourStart)
        let statuses = try stationStatuses()
        let ids = Set(statuses.map(\.stationID)).union(today.keys).sorted()
        let stations = try ids.map { id -> LineOverview.Station in
            let status = statuses.first { $0.stationID == id }
            let figures = today[id] ?? LineFigures()
            let (state, reason) = Self.state(of: status, lastCard: figures.lastEnd, now: now)
            return LineOverview.Station(
                id: id, state: state, reason: reason, batch: status?.batch, operator: status?.operator,
                readers: status?.readers ?? [:], lastHeard: status?.updatedAt, today: figures.summary,
                thisHour: (thisHour[id] ?? LineFigures()).summary, cardsPerHour: figures.cardsPerHour.map { $0.rounded() },
                lastFailure: try lastFailure(of: id))
        }
        let classes = today.values.reduce(into: [String: Int]()) { $0.merge($1.failures, uniquingKeysWith: +) }
        return LineOverview(generatedAt: now, dayStart: dayStart, stations: stations,
                            batches: try recentBatches(since: now.addingTimeInterval(-86_400)), bucketMinutes: bucketMinutes,
                            throughput: try throughput(since: now.addingTimeInterval(-Double(hours) * 3600), until: now,
                                                       bucketMinutes: bucketMinutes),
                            failureClassesToday: classes)
    }

    static var utcCalendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    /// The state the dashboard shows, and why, from the station's own word and its last card.
    static func state(of status: StationStatus?, lastCard: Date?, now: Date) -> (String, String?) {
        guard let status else {
            return ("idle", "no station status: its cards came from provision, or from a dmboot before this one")
        }
        switch status.state {
        case .stopped:
            return ("stopped", status.reason)
        case .ended:
            return ("ended", status.reason)
        case .running:
            let heard = status.updatedAt ?? status.startedAt
            let quiet = now.timeIntervalSince(heard)
            if quiet > silentAfter {
                return ("silent", "no heartbeat for \(Int(quiet)) s: the station, or its link to the results database, is down")
            }
            if let lastCard, now.timeIntervalSince(lastCard) <= liveWithin { return ("live", nil) }
            return ("idle", "running; no card in the last \(Int(liveWithin / 60)) min")
        }
    }

    func figuresByStation(since: Date) throws -> [String: LineFigures] {
        Dictionary(try figures(grouping: ["station_id"], ResultsFilter(since: since)).map { ($0.keys[0], $0.figures) },
                   uniquingKeysWith: { first, _ in first })
    }

    /// The station's latest failed card (duplicates are no failures), by the partial index of failures.
    func lastFailure(of station: String) throws -> LineOverview.Failure? {
        let rows = try connection.execute("""
            SELECT extract(epoch FROM started_at) AS started, failure_class, exit_code, error, card_identity, iccid, atr, reader
            FROM dmboot.card_results WHERE station_id = $1 AND outcome = 'failed' ORDER BY started_at DESC LIMIT 1
            """, [station])
        guard !rows.rows.isEmpty, let started = rows.value(0, "started").flatMap(Double.init) else { return nil }
        return LineOverview.Failure(time: Date(timeIntervalSince1970: started), failureClass: rows.value(0, "failure_class") ?? "",
                                    exitCode: rows.value(0, "exit_code").flatMap(Int32.init) ?? 0, error: rows.value(0, "error"),
                                    cardIdentity: rows.value(0, "card_identity"), iccid: rows.value(0, "iccid"),
                                    atr: rows.value(0, "atr"), reader: rows.value(0, "reader"))
    }

    /// The batches with a card since `since` (at most 20, the latest first), each counted whole.
    func recentBatches(since: Date) throws -> [LineOverview.Batch] {
        let names = try connection.execute("""
            SELECT batch FROM dmboot.card_results WHERE started_at >= $1::timestamptz AND batch IS NOT NULL
            GROUP BY batch ORDER BY max(started_at) DESC LIMIT 20
            """, [Timestamp.string(since)])
        return try names.rows.compactMap { $0.first ?? nil }.map { batch in
            let figures = try self.figures(grouping: [], ResultsFilter(batch: batch)).first?.figures ?? LineFigures()
            return LineOverview.Batch(batch: batch, figures: figures.summary, firstCard: figures.firstStart, lastCard: figures.lastEnd)
        }
    }

    /// Cards per bucket since `since`, by kind (LineFigures), empty buckets included.
    func throughput(since: Date, until now: Date, bucketMinutes: Int) throws -> [LineOverview.Bucket] {
        let width = Double(bucketMinutes * 60)
        let first = (since.timeIntervalSince1970 / width).rounded(.down) * width
        let rows = try connection.execute("""
            SELECT floor(extract(epoch FROM started_at) / $2) * $2 AS bucket,
                   count(*) FILTER (WHERE \(Self.succeededSQL)) AS succeeded,
                   count(*) FILTER (WHERE \(Self.duplicateSQL)) AS duplicates,
                   count(*) FILTER (WHERE \(Self.failedSQL)) AS failed
            FROM dmboot.card_results WHERE started_at >= $1::timestamptz GROUP BY 1
            """, [Timestamp.string(Date(timeIntervalSince1970: first)), "\(Int(width))"])
        var counts: [Int: (Int, Int, Int)] = [:]
        for row in 0..<rows.rows.count {
            guard let bucket = rows.value(row, "bucket").flatMap(Double.init) else { continue }
            func int(_ column: String) -> Int { Int(rows.value(row, column) ?? "0") ?? 0 }
            counts[Int(bucket)] = (int("succeeded"), int("duplicates"), int("failed"))
        }
        let last = (now.timeIntervalSince1970 / width).rounded(.down) * width
        return stride(from: first, through: max(first, last), by: width).map { start in
            let (succeeded, duplicates, failed) = counts[Int(start)] ?? (0, 0, 0)
            return LineOverview.Bucket(start: Date(timeIntervalSince1970: start), succeeded: succeeded,
                                       duplicates: duplicates, failed: failed)
        }
    }
}
