import Foundation

/// What a running station says about itself in the results database, so
/// that the dashboard can tell a live line from an idle, stopped or silent
/// one: its state, why it stopped, its readers, and when it last spoke.
public struct StationStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Watching its readers; `updatedAt` is its last heartbeat.
        case running
        /// The station stopped the line, or exited on an error: `reason` says why.
        case stopped
        /// It ended as asked (--max-cards, --once, the operator's interrupt).
        case ended
    }

    public var stationID: String
    public var runID: UUID
    public var state: State
    public var reason: String?
    public var batch: String?
    public var `operator`: String?
    /// Each watched reader's activity in words ("waiting for a card", "provisioning"...).
    public var readers: [String: String]
    public var startedAt: Date
    /// Set by the database on every write.
    public var updatedAt: Date?

    public init(stationID: String, runID: UUID, state: State, reason: String? = nil, batch: String? = nil,
                operator: String? = nil, readers: [String: String] = [:], startedAt: Date, updatedAt: Date? = nil) {
        self.stationID = stationID
        self.runID = runID
        self.state = state
        self.reason = reason
        self.batch = batch
        self.operator = `operator`
        self.readers = readers
        self.startedAt = startedAt
        self.updatedAt = updatedAt
    }
}

extension ResultsStore {
    /// Writes the station's status (one row per station id; a new run takes the row over).
    public func write(_ status: StationStatus) throws {
        let readers = String(decoding: (try? JSONEncoder().encode(status.readers)) ?? Data("{}".utf8), as: UTF8.self)
        try connection.execute("""
            INSERT INTO dmboot.station_status (station_id, run_id, state, reason, batch, operator, readers, started_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::timestamptz, now())
            ON CONFLICT (station_id) DO UPDATE SET run_id = EXCLUDED.run_id, state = EXCLUDED.state, reason = EXCLUDED.reason,
                batch = EXCLUDED.batch, operator = EXCLUDED.operator, readers = EXCLUDED.readers,
                started_at = EXCLUDED.started_at, updated_at = now()
            """, [status.stationID, status.runID.uuidString, status.state.rawValue, status.reason, status.batch,
                  status.operator, readers, Timestamp.string(status.startedAt)])
    }

    /// Every station that ever wrote its status, by id.
    public func stationStatuses() throws -> [StationStatus] {
        let rows = try connection.execute("""
            SELECT station_id, run_id, state, reason, batch, operator, readers::text AS readers,
                   extract(epoch FROM started_at) AS started, extract(epoch FROM updated_at) AS updated
            FROM dmboot.station_status ORDER BY station_id
            """)
        return (0..<rows.rows.count).compactMap { row in
            func value(_ column: String) -> String? { rows.value(row, column) }
            guard let id = value("station_id"), let run = value("run_id").flatMap(UUID.init(uuidString:)),
                  let state = value("state").flatMap(StationStatus.State.init(rawValue:)),
                  let started = value("started").flatMap(Double.init) else { return nil }
            let readers = value("readers").flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            return StationStatus(stationID: id, runID: run, state: state, reason: value("reason"), batch: value("batch"),
                                 operator: value("operator"), readers: readers ?? [:],
                                 startedAt: Date(timeIntervalSince1970: started),
                                 updatedAt: value("updated").flatMap(Double.init).map(Date.init(timeIntervalSince1970:)))
        }
    }
}
