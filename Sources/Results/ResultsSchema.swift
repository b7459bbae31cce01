import Foundation

/// The tables dmboot keeps in the results database, in PostgreSQL schema
/// `dmboot`, and the migrations that build them. Each migration runs once,
/// in order, in one transaction with the version it reaches.
public enum ResultsSchema {
    /// Migration n (1-based) is `migrations[n - 1]`: its statements, in order.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE dmboot.card_results (
                record_id uuid PRIMARY KEY,
                card_identity text,
                iccid text,
                pkcs15_serial text,
                atr text,
                station_id text NOT NULL,
                run_id uuid NOT NULL,
                reader text,
                outcome text NOT NULL CHECK (outcome IN ('provisioned', 'unchanged', 'alreadyProvisioned', 'failed')),
                failure_class text,
                exit_code integer NOT NULL CHECK (exit_code BETWEEN 0 AND 255),
                accounts_added text[] NOT NULL DEFAULT '{}',
                accounts_replaced text[] NOT NULL DEFAULT '{}',
                accounts_removed text[] NOT NULL DEFAULT '{}',
                apdu_count integer CHECK (apdu_count >= 0),
                duration_ms double precision NOT NULL CHECK (duration_ms >= 0),
                dmboot_version text NOT NULL,
                kvn integer CHECK (kvn BETWEEN 0 AND 255),
                reprovision boolean NOT NULL DEFAULT false,
                conflicts_with uuid REFERENCES dmboot.card_results (record_id),
                error text,
                started_at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                CHECK ((outcome IN ('provisioned', 'unchanged')) = (exit_code = 0)),
                CHECK ((failure_class IS NULL) = (exit_code = 0)),
                CHECK (conflicts_with IS NULL OR outcome IN ('provisioned', 'unchanged'))
            )
            """,
            // The rule the whole line depends on, kept by the server itself:
            // one successful record per card, unless an operator allowed a
            // reprovision or the second success happened during an outage
            // (then it is stored as a conflict).
            """
            CREATE UNIQUE INDEX card_results_one_success ON dmboot.card_results (card_identity)
                WHERE outcome IN ('provisioned', 'unchanged') AND NOT reprovision AND conflicts_with IS NULL
            """,
            "CREATE INDEX card_results_started ON dmboot.card_results (started_at)",
            "CREATE INDEX card_results_station ON dmboot.card_results (station_id, started_at)",
            "CREATE INDEX card_results_identity ON dmboot.card_results (card_identity)",
        ],
        // Batches and operators (issue 26): the rows of before keep NULL in both.
        [
            "ALTER TABLE dmboot.card_results ADD COLUMN batch text, ADD COLUMN operator text",
            "CREATE INDEX card_results_batch ON dmboot.card_results (batch, started_at) WHERE batch IS NOT NULL",
        ],
        // What each station says of itself (StationStatus), and a station's last failure found at once (the dashboard).
        [
            """
            CREATE TABLE dmboot.station_status (
                station_id text PRIMARY KEY,
                run_id uuid NOT NULL,
                state text NOT NULL CHECK (state IN ('running', 'stopped', 'ended')),
                reason text,
                batch text,
                operator text,
                readers jsonb NOT NULL DEFAULT '{}',
                started_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX card_results_failures ON dmboot.card_results (station_id, started_at) WHERE outcome = 'failed'",
        ],
    ]

    /// The version this dmboot builds.
    public static var current: Int { migrations.count }

    /// An arbitrary, fixed key for pg_advisory_xact_lock: stations starting
    /// together migrate one after the other.
    static let migrationLock = 0x646D_626F_6F74

    /// Brings the database to `current` (or to the earlier `version`, as a
    /// test of the next migration needs it); returns the version it found.
    /// Refuses a database a newer dmboot migrated.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, dmbootVersion: String, through version: Int = current) throws -> Int {
        try connection.execute("BEGIN")
        do {
            try connection.execute("SELECT pg_advisory_xact_lock($1)", ["\(migrationLock)"])
            try connection.execute("CREATE SCHEMA IF NOT EXISTS dmboot")
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS dmboot.schema_version (
                    version integer PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    dmboot_version text NOT NULL)
                """)
            let found = Int(try connection.execute("SELECT coalesce(max(version), 0) FROM dmboot.schema_version")
                .rows[0][0] ?? "0") ?? 0
            guard found <= current else { throw ResultsDatabaseError.newerSchema(found: found, known: current) }
            for version in stride(from: found + 1, through: min(version, current), by: 1) {
                for statement in migrations[version - 1] { try connection.execute(statement) }
                try connection.execute("INSERT INTO dmboot.schema_version (version, dmboot_version) VALUES ($1, $2)",
                                       ["\(version)", dmbootVersion])
            }
            try connection.execute("COMMIT")
            return found
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
