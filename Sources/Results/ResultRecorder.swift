import Dispatch
import Foundation
import Synchronization

/// Where a station's results go: the shared database while it answers, the
/// local spool while it does not, and the database again (spool first) once
/// it is back. An outage never stops a card and never loses its record.
public final class ResultRecorder: Sendable {
    public struct Settings: Sendable {
        public var url: String
        public var spool: ResultSpool
        public var knownCards: KnownCards
        public var dmbootVersion: String
        /// Install a card that already has a successful record (and say so in its record).
        public var allowReprovision = false
        public var connectTimeout = 5
        /// From --results-password-file; nil lets the URL or libpq (~/.pgpass, $PGPASSFILE) give it.
        public var password: String?

        public init(url: String, spool: ResultSpool, knownCards: KnownCards, dmbootVersion: String) {
            self.url = url
            self.spool = spool
            self.knownCards = knownCards
            self.dmbootVersion = dmbootVersion
        }

        func connect() throws -> PostgresConnection {
            try PostgresConnection(url: url, password: password, connectTimeout: connectTimeout)
        }
    }

    public enum Status: Equatable, Sendable {
        case connected
        /// Records go to the spool; `reason` says why the database is out of reach.
        case spooling(reason: String)
    }

    /// A card's hold on its identity from before its install until its
    /// record: a database transaction while the database answers.
    public struct Claim: Sendable {
        public let recordID: UUID
        public let reprovision: Bool
        let connection: PostgresConnection?
        /// Set when the claim is this station's own (the database was unreachable).
        let localIdentity: String?
    }

    /// What one delivery of the spool did.
    public struct FlushReport: Sendable, Equatable {
        public var stored = 0
        public var alreadyStored = 0
        public var conflicts = 0
        /// Records the database refused for a reason other than an outage,
        /// kept as `<record id>.json.rejected`.
        public var rejected: [String] = []
        /// Spool files that do not read as records, kept as `<name>.unreadable`.
        public var unreadable: [String] = []
        /// Why delivery stopped early (the database is still unreachable).
        public var stoppedBy: String?
        public var remaining = 0

        public var delivered: Int { stored + alreadyStored + conflicts }
    }

    /// A flush that could not deliver everything: the records stay spooled.
    public struct FlushIncomplete: Error, CustomStringConvertible {
        public let reason: String
        public let remaining: Int

        public init(reason: String, remaining: Int) {
            self.reason = reason
            self.remaining = remaining
        }

        public var description: String { "\(reason); \(remaining) record(s) stay spooled" }
    }

    private struct State {
        var online: Bool
        var reason: String
        var idle: [PostgresConnection]
        var known: Set<String>
        /// Cards claimed while spooling whose record is not written yet.
        var claimedLocally: Set<String> = []
    }

    public let settings: Settings
    private let state: Mutex<State>
    private let flushing = Mutex(())
    private let retryTimer = Mutex<DispatchSourceTimer?>(nil)
    private let onStatus: @Sendable (Status) -> Void

    /// Connects and migrates the schema. An unreachable database is no
    /// error: the recorder starts spooling. A database that refuses (a newer
    /// schema, no right to create tables) is. The spool of an earlier run
    /// waits for `flush()`.
    public init(settings: Settings, onStatus: @escaping @Sendable (Status) -> Void = { _ in }) throws {
        self.settings = settings
        self.onStatus = onStatus
        var known = try settings.knownCards.load()
        let spooled = try settings.spool.pending().records
        known.formUnion(spooled.filter(\.succeeded).compactMap(\.cardIdentity))
        var initial = State(online: false, reason: "", idle: [], known: known)
        do {
            let connection = try settings.connect()
            try ResultsSchema.migrate(connection, dmbootVersion: settings.dmbootVersion)
            initial.online = true
            initial.idle = [connection]
        } catch let error as ResultsDatabaseError where error.isOutage {
            initial.reason = error.description
        }
        state = Mutex(initial)
    }

    deinit {
        stopRetrying()
    }

    public var status: Status {
        state.withLock { $0.online ? .connected : .spooling(reason: $0.reason) }
    }

    /// Records waiting in the spool.
    public var spooledCount: Int { settings.spool.count }

    /// Called before installing a card. Refuses a card that already has a
    /// successful record (in the database, or, during an outage, in this
    /// station's own records) unless reprovisioning is allowed.
    public func claim(_ record: ResultRecord) throws -> Claim {
        guard let identity = record.cardIdentity else {
            return Claim(recordID: record.recordID, reprovision: false, connection: nil, localIdentity: nil)
        }
        if let connection = checkout() {
            do {
                let reprovision = try ResultsStore(connection: connection).claim(record, allowReprovision: settings.allowReprovision)
                return Claim(recordID: record.recordID, reprovision: reprovision, connection: connection, localIdentity: nil)
            } catch let error as ResultsDatabaseError where error.isOutage {
                goOffline(error)
            } catch {
                checkin(connection)
                throw error
            }
        }
        // The same card in two readers of this station at once: the second is refused too.
        let seen = try state.withLock { state -> Bool in
            let seen = state.known.contains(identity)
            guard !state.claimedLocally.contains(identity), !seen || settings.allowReprovision else {
                throw AlreadyProvisioned(cardIdentity: identity, source: .localRecords)
            }
            state.claimedLocally.insert(identity)
            return seen
        }
        return Claim(recordID: record.recordID, reprovision: seen, connection: nil, localIdentity: identity)
    }

    /// Records a card's result: ends its claim (if any) with it, or spools it.
    /// Throws only when the spool cannot keep it.
    @discardableResult
    public func finish(_ claim: Claim?, _ result: ResultRecord) throws -> Delivery {
        defer {
            if let identity = claim?.localIdentity { state.withLock { _ = $0.claimedLocally.remove(identity) } }
        }
        var record = result
        if let claim {
            record.recordID = claim.recordID
            record.reprovision = record.succeeded && claim.reprovision
        }
        if record.succeeded, let identity = record.cardIdentity,
           state.withLock({ $0.known.insert(identity).inserted }) {
            try settings.knownCards.add(identity)
        }

        if let connection = claim?.connection {
            let store = ResultsStore(connection: connection)
            do {
                let delivery: Delivery
                if record.succeeded {
                    try store.complete(record)
                    delivery = .stored
                } else {
                    try store.abandonClaim()
                    delivery = try store.deliver(record)
                }
                checkin(connection)
                return delivery
            } catch let error as ResultsDatabaseError where error.isOutage {
                goOffline(error)
                return try spool(record)
            }
        }
        guard let connection = checkout() else { return try spool(record) }
        do {
            let delivery = try ResultsStore(connection: connection).deliver(record)
            checkin(connection)
            return delivery
        } catch let error as ResultsDatabaseError where error.isOutage {
            goOffline(error)
            return try spool(record)
        }
    }

    /// Delivers the spool, oldest first, each record exactly once; back
    /// online once the spool is empty. Safe beside another flush (another
    /// process flushing the same spool): the database stores a record once.
    @discardableResult
    public func flush() -> FlushReport {
        flushing.withLock { _ in
            var report = FlushReport()
            let store: ResultsStore
            do {
                let connection = try settings.connect()
                try ResultsSchema.migrate(connection, dmbootVersion: settings.dmbootVersion)
                store = ResultsStore(connection: connection)
            } catch {
                report.stoppedBy = "\(error)"
                report.remaining = settings.spool.count
                return report
            }
            while true {
                let pending: [ResultRecord]
                do {
                    let found = try settings.spool.pending()
                    pending = found.records
                    report.unreadable += found.unreadable
                } catch {
                    report.stoppedBy = "\(error)"
                    report.remaining = settings.spool.count
                    return report
                }
                if pending.isEmpty {
                    // Spooling happens under the same lock: nothing can slip in
                    // between "the spool is empty" and "back online".
                    let back = state.withLock { state -> Bool? in
                        guard settings.spool.count == 0 else { return nil }
                        defer { state.online = true }
                        state.idle.append(store.connection)
                        return !state.online
                    }
                    guard let back else { continue }
                    if back { onStatus(.connected) }
                    return report
                }
                for record in pending {
                    do {
                        switch try store.deliver(record) {
                        case .stored, .spooled: report.stored += 1
                        case .alreadyStored: report.alreadyStored += 1
                        case .conflict: report.conflicts += 1
                        }
                        try settings.spool.remove(record.recordID)
                    } catch let error as ResultsDatabaseError where error.isOutage {
                        goOffline(error)
                        report.stoppedBy = error.description
                        report.remaining = settings.spool.count
                        return report
                    } catch {
                        report.rejected.append("\(record.recordID.uuidString.lowercased()): \(error)")
                        settings.spool.setAside(record.recordID, as: "rejected")
                    }
                }
            }
        }
    }

    /// While the recorder spools, tries to deliver every `interval` seconds.
    public func retryInBackground(every interval: Double) {
        retryTimer.withLock { current in
            current?.cancel()
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in
                guard let self, self.status != .connected || self.spooledCount > 0 else { return }
                self.flush()
            }
            timer.resume()
            current = timer
        }
    }

    public func stopRetrying() {
        retryTimer.withLock { timer in
            timer?.cancel()
            timer = nil
        }
    }

    private func spool(_ record: ResultRecord) throws -> Delivery {
        try state.withLock { _ in try settings.spool.write(record) }
        return .spooled
    }

    private func checkout() -> PostgresConnection? {
        let (online, idle) = state.withLock { state in (state.online, state.online ? state.idle.popLast() : nil) }
        guard online else { return nil }
        if let idle, !idle.isBroken { return idle }
        do {
            return try settings.connect()
        } catch let error as ResultsDatabaseError {
            goOffline(error)
        } catch {
            let redactor = CredentialRedactor(url: settings.url, password: settings.password)
            goOffline(.unavailable(server: redactor.redact(settings.url), reason: redactor.redact("\(error)")))
        }
        return nil
    }

    private func checkin(_ connection: PostgresConnection) {
        guard !connection.isBroken else { return }
        state.withLock { $0.idle.append(connection) }
    }

    private func goOffline(_ error: ResultsDatabaseError) {
        let was = state.withLock { state -> Bool in
            defer {
                state.online = false
                state.reason = error.description
                state.idle = []
            }
            return state.online
        }
        if was { onStatus(.spooling(reason: error.description)) }
    }
}
