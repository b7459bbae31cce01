import Foundation

/// A card that already has a successful record: refused before installing.
public struct AlreadyProvisioned: Error, Equatable, CustomStringConvertible {
    public enum Source: String, Sendable {
        /// The results database holds the earlier success (any station).
        case database
        /// The database is unreachable; this station's own spool or cache holds it.
        case localRecords
    }

    public let cardIdentity: String
    public let source: Source
    /// The earlier record, when the database named it.
    public var earlierRecord: UUID?
    public var earlierStation: String?
    public var earlierTime: Date?

    public init(cardIdentity: String, source: Source) {
        self.cardIdentity = cardIdentity
        self.source = source
    }

    public var description: String {
        var text = "card \(cardIdentity) was already provisioned"
        if let earlierStation { text += " by station \(earlierStation)" }
        if let earlierTime { text += " at \(Timestamp.string(earlierTime))" }
        if let earlierRecord { text += " (record \(earlierRecord.uuidString.lowercased()))" }
        if source == .localRecords { text += " (per this station's own records: the results database is unreachable)" }
        return text + "; its tree was not touched (--allow-reprovision provisions it again)"
    }
}

/// What became of a record handed to the database.
public enum Delivery: Equatable, Sendable {
    case stored
    /// The record id was there already: an earlier delivery got through.
    case alreadyStored
    /// Another success of the same card was stored first: kept as a conflict.
    case conflict(with: UUID)
    /// The database is unreachable: the record waits in the spool.
    case spooled
}

/// The record statements over one connection. The database's own
/// constraints decide what is unique; this type only asks.
public struct ResultsStore {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    static let oneSuccessIndex = "card_results_one_success"

    private static let columns = [
        "record_id", "card_identity", "iccid", "pkcs15_serial", "atr", "station_id", "run_id", "reader", "outcome",
        "failure_class", "exit_code", "accounts_added", "accounts_replaced", "accounts_removed", "apdu_count",
        "duration_ms", "dmboot_version", "kvn", "reprovision", "conflicts_with", "error", "started_at", "batch", "operator",
    ]

    /// The parameter for each column; arrays travel as JSON text.
    private static func values(_ record: ResultRecord) -> [String?] {
        func json(_ names: [String]) -> String {
            String(decoding: (try? JSONEncoder().encode(names)) ?? Data("[]".utf8), as: UTF8.self)
        }
        return [
            record.recordID.uuidString, record.cardIdentity, record.iccid, record.pkcs15Serial, record.atr,
            record.stationID, record.runID.uuidString, record.reader, record.outcome.rawValue, record.failureClass,
            "\(record.exitCode)", json(record.added), json(record.replaced), json(record.removed),
            record.apduCount.map { "\($0)" }, "\(record.milliseconds)", record.dmbootVersion, record.kvn.map { "\($0)" },
            record.reprovision ? "true" : "false", record.conflictsWith?.uuidString, record.error,
            Timestamp.string(record.time), record.batch, record.operator,
        ]
    }

    /// `$n` placeholders in column order, arrays unpacked from their JSON.
    private static var placeholders: String {
        columns.enumerated().map { index, column in
            column.hasPrefix("accounts_")
                ? "ARRAY(SELECT jsonb_array_elements_text($\(index + 1)::jsonb))" : "$\(index + 1)"
        }.joined(separator: ", ")
    }

    private static var insertSQL: String {
        "INSERT INTO dmboot.card_results (\(columns.joined(separator: ", "))) VALUES (\(placeholders))"
    }

    /// Stores a finished record exactly once: a record id already there is
    /// left alone, and a second success of a card becomes a conflict.
    public func deliver(_ record: ResultRecord) throws -> Delivery {
        do {
            let rows = try connection.execute(Self.insertSQL + " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
                                              Self.values(record))
            return rows.rows.isEmpty ? .alreadyStored : .stored
        } catch ResultsDatabaseError.refused(let state, Self.oneSuccessIndex, let message) where state == uniqueViolation {
            guard let winner = try earlierSuccess(of: record.cardIdentity ?? "") else {
                throw ResultsDatabaseError.refused(sqlState: state, constraint: Self.oneSuccessIndex, message: message)
            }
            var conflicting = record
            conflicting.conflictsWith = winner.recordID
            let rows = try connection.execute(Self.insertSQL + " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
                                              Self.values(conflicting))
            return rows.rows.isEmpty ? .alreadyStored : .conflict(with: winner.recordID)
        }
    }

    /// Opens a transaction that holds `record` as a tentative success of its
    /// card. A second station claiming the same card waits on the unique
    /// index until this transaction ends, and is refused if it commits: two
    /// stations racing on one card, exactly one installs. Returns whether the
    /// claim is a permitted reprovision.
    public func claim(_ record: ResultRecord, allowReprovision: Bool) throws -> Bool {
        try connection.execute("BEGIN")
        do {
            try connection.execute("SET LOCAL lock_timeout = '30s'")
            try connection.execute("SAVEPOINT claim")
            do {
                try connection.execute(Self.insertSQL, Self.values(record))
                return false
            } catch ResultsDatabaseError.refused(let state, Self.oneSuccessIndex, _) where state == uniqueViolation && allowReprovision {
                try connection.execute("ROLLBACK TO SAVEPOINT claim")
                var again = record
                again.reprovision = true
                try connection.execute(Self.insertSQL, Self.values(again))
                return true
            }
        } catch ResultsDatabaseError.refused(let state, Self.oneSuccessIndex, _) where state == uniqueViolation {
            try connection.execute("ROLLBACK")
            var refusal = AlreadyProvisioned(cardIdentity: record.cardIdentity ?? "", source: .database)
            if let winner = try earlierSuccess(of: record.cardIdentity ?? "") {
                refusal.earlierRecord = winner.recordID
                refusal.earlierStation = winner.stationID
                refusal.earlierTime = winner.time
            }
            throw refusal
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Ends a claim with the card's real record (same record id) and commits.
    public func complete(_ record: ResultRecord) throws {
        let assignments = Self.columns.dropFirst().joined(separator: ", ")
        let values = Self.columns.enumerated().dropFirst().map { index, column in
            column.hasPrefix("accounts_")
                ? "ARRAY(SELECT jsonb_array_elements_text($\(index + 1)::jsonb))" : "$\(index + 1)"
        }.joined(separator: ", ")
        do {
            try connection.execute("UPDATE dmboot.card_results SET (\(assignments)) = ROW(\(values)) WHERE record_id = $1",
                                   Self.values(record))
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Gives up a claim: the card did not install.
    public func abandonClaim() throws {
        try connection.execute("ROLLBACK")
    }

    /// The card's standing success, if any.
    public func earlierSuccess(of identity: String) throws -> (recordID: UUID, stationID: String, time: Date)? {
        let rows = try connection.execute("""
            SELECT record_id, station_id, extract(epoch FROM started_at) AS started FROM dmboot.card_results
            WHERE card_identity = $1 AND outcome IN ('provisioned', 'unchanged') AND NOT reprovision AND conflicts_with IS NULL
            """, [identity])
        guard let first = rows.rows.first, let id = first[0].flatMap(UUID.init(uuidString:)), let station = first[1],
              let epoch = first[2].flatMap(Double.init) else { return nil }
        return (id, station, Date(timeIntervalSince1970: epoch))
    }

    /// Records matching `filter`, oldest first.
    public func records(_ filter: ResultsFilter) throws -> [ResultRecord] {
        let (condition, parameters) = filter.sql
        let rows = try connection.execute("""
            SELECT record_id, card_identity, iccid, pkcs15_serial, atr, station_id, run_id, reader, outcome,
                   failure_class, exit_code, array_to_json(accounts_added)::text AS added,
                   array_to_json(accounts_replaced)::text AS replaced, array_to_json(accounts_removed)::text AS removed,
                   apdu_count, duration_ms, dmboot_version, kvn, reprovision, conflicts_with, error, batch, operator,
                   extract(epoch FROM started_at) AS started
            FROM dmboot.card_results WHERE \(condition) ORDER BY started_at, record_id
            """, parameters)
        return try (0..<rows.rows.count).map { try Self.record(rows, $0) }
    }

    private static func record(_ rows: QueryRows, _ row: Int) throws -> ResultRecord {
        func value(_ column: String) -> String? { rows.value(row, column) }
        func names(_ column: String) -> [String] {
            value(column).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        }
        guard let id = value("record_id").flatMap(UUID.init(uuidString:)),
              let run = value("run_id").flatMap(UUID.init(uuidString:)),
              let outcome = value("outcome").flatMap(ResultRecord.Outcome.init(rawValue:)),
              let exitCode = value("exit_code").flatMap(Int32.init),
              let milliseconds = value("duration_ms").flatMap(Double.init),
              let epoch = value("started").flatMap(Double.init) else {
            throw ResultsDatabaseError.refused(sqlState: "XX000", constraint: nil,
                                               message: "a row of dmboot.card_results does not read as a record")
        }
        var record = ResultRecord(recordID: id, cardIdentity: value("card_identity"), stationID: value("station_id") ?? "",
                                  runID: run, outcome: outcome, failureClass: value("failure_class"), exitCode: exitCode,
                                  milliseconds: milliseconds, dmbootVersion: value("dmboot_version") ?? "",
                                  time: Date(timeIntervalSince1970: epoch))
        record.iccid = value("iccid")
        record.pkcs15Serial = value("pkcs15_serial")
        record.atr = value("atr")
        record.reader = value("reader")
        record.added = names("added")
        record.replaced = names("replaced")
        record.removed = names("removed")
        record.apduCount = value("apdu_count").flatMap(Int.init)
        record.kvn = value("kvn").flatMap(Int.init)
        record.reprovision = value("reprovision") == "t"
        record.conflictsWith = value("conflicts_with").flatMap(UUID.init(uuidString:))
        record.error = value("error")
        record.batch = value("batch")
        record.operator = value("operator")
        return record
    }
}

/// PostgreSQL's SQLSTATE for a unique index violation.
let uniqueViolation = "23505"

/// Which records `results list` and `results report` take.
public struct ResultsFilter: Sendable, Equatable {
    public var station: String?
    public var batch: String?
    public var since: Date?
    /// Only records from before this time.
    public var until: Date?
    /// An outcome (provisioned, unchanged, alreadyProvisioned, failed), a
    /// failure class (cardRemoved…), "conflict", or "duplicate" (refused as
    /// already provisioned, or a conflict: LineFigures' duplicates).
    public var outcome: String?

    public init(station: String? = nil, batch: String? = nil, since: Date? = nil, until: Date? = nil, outcome: String? = nil) {
        self.station = station
        self.batch = batch
        self.since = since
        self.until = until
        self.outcome = outcome
    }

    var sql: (condition: String, parameters: [String?]) {
        var conditions = ["true"]
        var parameters: [String?] = []
        if let station {
            parameters.append(station)
            conditions.append("station_id = $\(parameters.count)")
        }
        if let batch {
            parameters.append(batch)
            conditions.append("batch = $\(parameters.count)")
        }
        if let since {
            parameters.append(Timestamp.string(since))
            conditions.append("started_at >= $\(parameters.count)::timestamptz")
        }
        if let until {
            parameters.append(Timestamp.string(until))
            conditions.append("started_at < $\(parameters.count)::timestamptz")
        }
        if let outcome {
            if outcome == "conflict" {
                conditions.append("conflicts_with IS NOT NULL")
            } else if outcome == "duplicate" {
                conditions.append(ResultsStore.duplicateSQL)
            } else {
                parameters.append(outcome)
                conditions.append("(outcome = $\(parameters.count) OR failure_class = $\(parameters.count))")
            }
        }
        return (conditions.joined(separator: " AND "), parameters)
    }
}
