import Dispatch
import Foundation
import Hummingbird
import Results
import Synchronization

/// The results database as the dashboard reads it: one connection, opened
/// again after an outage, used off the server's threads (libpq blocks).
final class OverviewSource: Sendable {
    private let url: String
    private let connection = Mutex<PostgresConnection?>(nil)
    private let queue = DispatchQueue(label: "dmboot.dashboard.database")

    init(url: String) {
        self.url = url
    }

    /// Opens the database now, so that a wrong URL is said at start, not on the first page.
    func check() throws {
        _ = try store()
    }

    private func store() throws -> ResultsStore {
        if let open = connection.withLock({ $0 }) { return ResultsStore(connection: open) }
        let opened = try PostgresConnection(url: url)
        try ResultsSchema.migrate(opened, dmbootVersion: "dmboot-dashboard")
        connection.withLock { $0 = opened }
        return ResultsStore(connection: opened)
    }

    func overview() async throws -> LineOverview {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                do {
                    continuation.resume(returning: try store().overview())
                } catch {
                    connection.withLock { if $0?.isBroken ?? false { $0 = nil } }
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// GET / (the page, public: it holds no data), GET /api/v1/overview (the
/// data, behind the bearer token when there is one). docs/dashboard-openapi.yaml
/// documents the JSON.
enum DashboardRoutes {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(date))
        }
        return encoder
    }()

    static func router(database: OverviewSource, token: String?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: DashboardPage.policy,
                                            .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        let api = router.group("api/v1")
        if let token { api.add(middleware: BearerMiddleware(token: token)) }
        api.get("overview") { _, _ -> Response in
            do {
                let body = try encoder.encode(try await database.overview())
                return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
            } catch {
                let body = try encoder.encode(["error": "\(error)"])
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
        return router
    }
}

/// Refuses an API request without `Authorization: Bearer <token>` (401),
/// comparing in constant time.
struct BearerMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let expected = Array("Bearer \(token)".utf8)
        var difference = given.count ^ expected.count
        for index in expected.indices { difference |= Int(expected[index] ^ (index < given.count ? given[index] : 0)) }
        guard difference == 0 else {
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"a bearer token is required"}"#)))
        }
        return try await next(request, context)
    }
}
