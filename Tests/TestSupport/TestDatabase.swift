import Foundation
import Results
import XCTest

/// A database of its own for one test, on the PostgreSQL server
/// scripts/test.sh starts (scripts/pg-start.sh; its URL in
/// $DMBOOT_TEST_RESULTS_URL), dropped when the test ends.
public final class TestDatabase {
    public let url: String
    private let server: String
    public let name: String

    public init(file: StaticString = #filePath, line: UInt = #line) throws {
        guard let server = ProcessInfo.processInfo.environment["DMBOOT_TEST_RESULTS_URL"], !server.isEmpty else {
            XCTFail("no PostgreSQL for the results tests: run scripts/test.sh, or export "
                    + "DMBOOT_TEST_RESULTS_URL=$(bash scripts/pg-start.sh)", file: file, line: line)
            throw ResultsDatabaseError.invalidURL("DMBOOT_TEST_RESULTS_URL is not set")
        }
        self.server = server
        name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try PostgresConnection(url: server).execute("CREATE DATABASE \(name)")
        var components = try XCTUnwrap(URLComponents(string: server))
        components.path = "/" + name
        url = try XCTUnwrap(components.string)
    }

    deinit {
        _ = try? PostgresConnection(url: server).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    public func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url)
    }

    /// Shuts the database to every client, cutting the connections it has
    /// (what a server restart does to them), or opens it again.
    public func admit(_ open: Bool) throws {
        let admin = try PostgresConnection(url: server)
        try admin.execute("ALTER DATABASE \(name) ALLOW_CONNECTIONS \(open)")
        if !open {
            try admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name])
        }
    }

    /// A URL on which nothing listens: a socket folder that does not exist.
    public static let unreachable = "postgresql:///dmboot?host=/nonexistent-dmboot-test&connect_timeout=2"
}

/// A station's recorder over a spool folder of its own.
public struct TestStation: Sendable {
    public let folder: URL
    public let id: String
    public let runID = UUID()

    public init(_ id: String) throws {
        self.id = id
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// The layout dmboot uses with XDG_STATE_HOME set to `folder`.
    public var spool: ResultSpool { ResultSpool(directory: ResultSpool.defaultDirectory(environment: xdg)) }
    public var knownCards: KnownCards { KnownCards(path: KnownCards.defaultPath(environment: xdg)) }
    private var xdg: [String: String] { ["XDG_STATE_HOME": folder.path] }

    public func recorder(_ url: String, allowReprovision: Bool = false,
                  onStatus: @escaping @Sendable (ResultRecorder.Status) -> Void = { _ in }) throws -> ResultRecorder {
        var settings = ResultRecorder.Settings(url: url, spool: spool, knownCards: knownCards, dmbootVersion: "test")
        settings.allowReprovision = allowReprovision
        settings.connectTimeout = 2
        return try ResultRecorder(settings: settings, onStatus: onStatus)
    }

    public func record(_ identity: String?, _ outcome: ResultRecord.Outcome = .provisioned, failureClass: String? = nil,
                exitCode: Int32 = 0, time: Date = Date()) -> ResultRecord {
        var record = ResultRecord(cardIdentity: identity, stationID: id, runID: runID, outcome: outcome,
                                  failureClass: failureClass, exitCode: exitCode, milliseconds: 12.5,
                                  dmbootVersion: "test", time: time)
        record.pkcs15Serial = identity.map { String($0.split(separator: ":").last ?? "") }
        record.atr = "3B8A80010031C173C8400000900090"
        record.reader = "Virtual PCD 00 00"
        record.apduCount = 21
        record.kvn = 0x30
        if outcome.succeeded { record.added = ["DemoServer"] }
        return record
    }

    public func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A test case with a database of its own on the test server for each test,
/// and the stations it made cleaned up after it.
open class DatabaseTestCase: XCTestCase {
    public var database: TestDatabase!
    private var stations: [TestStation] = []

    override open func setUpWithError() throws {
        try super.setUpWithError()
        database = try TestDatabase()
    }

    override open func tearDown() {
        stations.forEach { $0.remove() }
        stations = []
        database = nil
        super.tearDown()
    }

    /// A station whose spool folder is removed when the test ends.
    public func station(_ id: String) throws -> TestStation {
        let station = try TestStation(id)
        stations.append(station)
        return station
    }
}
