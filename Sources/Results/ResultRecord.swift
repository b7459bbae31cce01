import Foundation

/// One card's result as the results database and the spool keep it. It holds
/// identities, counts and names: never a key, a PSK or a PIN.
public struct ResultRecord: Codable, Sendable, Equatable {
    /// What became of the card, the `outcome` column.
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        /// Its accounts were installed (the tree changed).
        case provisioned
        /// The tree already held exactly its accounts.
        case unchanged
        /// Refused before installing: the card already has a successful record.
        case alreadyProvisioned
        /// Any other failure; `failureClass` says which.
        case failed

        public var succeeded: Bool { self == .provisioned || self == .unchanged }
    }

    /// The idempotency key: a spooled record delivered twice is stored once.
    public var recordID: UUID
    /// What makes a card unique across stations ("iccid:…" or "pkcs15:…");
    /// nil when the card failed before it could be identified.
    public var cardIdentity: String?
    public var iccid: String?
    public var pkcs15Serial: String?
    /// The answer to reset, hex.
    public var atr: String?
    public var stationID: String
    /// One per station process: the records of a run belong together.
    public var runID: UUID
    /// The batch of cards and who ran the line (`--batch`, `--operator`).
    public var batch: String?
    public var `operator`: String?
    public var reader: String?
    public var outcome: Outcome
    /// The exit-status class of a failure (dmboot(1), EXIT STATUS); nil on success.
    public var failureClass: String?
    public var exitCode: Int32
    public var added: [String] = []
    public var replaced: [String] = []
    public var removed: [String] = []
    public var apduCount: Int?
    public var milliseconds: Double
    public var dmbootVersion: String
    /// The SCP03 key version the card answered INITIALIZE UPDATE with.
    public var kvn: Int?
    /// Whether --allow-reprovision let a card with an earlier success through.
    public var reprovision = false
    /// Set by the database when a spooled success meets an earlier success of
    /// the same card: the card was provisioned twice during an outage.
    public var conflictsWith: UUID?
    public var error: String?
    /// When the card was taken.
    public var time: Date

    public init(recordID: UUID = UUID(), cardIdentity: String?, stationID: String, runID: UUID, outcome: Outcome,
                failureClass: String?, exitCode: Int32, milliseconds: Double, dmbootVersion: String, time: Date) {
        self.recordID = recordID
        self.cardIdentity = cardIdentity
        self.stationID = stationID
        self.runID = runID
        self.outcome = outcome
        self.failureClass = failureClass
        self.exitCode = exitCode
        self.milliseconds = milliseconds
        self.dmbootVersion = dmbootVersion
        self.time = time
    }

    public var succeeded: Bool { outcome.succeeded }

    /// The JSON form of the spool files and of `results list --json`.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(date))
        }
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.date(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return decoder
    }()
}

/// ISO 8601 times in UTC with milliseconds, as records carry them.
public enum Timestamp {
    public static func string(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
    }

    public static func date(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
