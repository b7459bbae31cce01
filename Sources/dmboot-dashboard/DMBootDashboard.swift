import ArgumentParser
import CommandLineSupport
import ExitContract
import Foundation
import Hummingbird
import Results
import Synchronization

/// The web server of `dmboot dashboard` and `dmboot station --metrics`, a
/// process of its own: SwiftNIO and Hummingbird stay out of dmboot, whose
/// every other command starts without them. dmboot starts it from beside
/// itself; it is not meant to be run by hand, but can be.
@main
struct DMBootDashboard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmboot-dashboard",
        abstract: "The web server behind `dmboot dashboard` and `dmboot station --metrics`.",
        subcommands: [ServeCommand.self, MetricsCommand.self])

    static func main() {
        ToolEntry(name: "dmboot-dashboard").run(Self.self)
    }
}

/// `serve`: the read-only dashboard over the results database ($DMBOOT_RESULTS, as dmboot passes it).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the dashboard.")

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT.", valueName: "host:port"))
    var listen = "127.0.0.1:8026"

    @Option(help: ArgumentHelp("Bearer token file (owner-only); required to listen beyond loopback.", valueName: "file"))
    var tokenFile: String?

    func run() throws {
        guard let url = ProcessInfo.processInfo.environment["DMBOOT_RESULTS"], !url.isEmpty else {
            throw ValidationError("give the results database in $DMBOOT_RESULTS (dmboot dashboard --results URL does)")
        }
        let address = try ListenAddress(listen)
        let token = try tokenFile.map(BearerToken.read)
        if token == nil && !address.isLoopback { throw DashboardFailure.unprotected(address: listen) }
        let database = OverviewSource(url: url)
        try database.check()
        try Serving.run(router: DashboardRoutes.router(database: database, token: token), address: address, what: "dashboard",
                        path: "/")
    }
}

/// `metrics`: serves the exposition the station writes to this process's stdin, until stdin ends.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics",
                                                    abstract: "Serve the station's metrics read from stdin.")

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT.", valueName: "host:port"))
    var listen: String

    func run() throws {
        let address = try ListenAddress(listen)
        let latest = MetricsFrames()
        latest.readInBackground(from: FileHandle.standardInput)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: latest.text)))
        }
        try Serving.run(router: router, address: address, what: "metrics", path: "/metrics")
    }
}

/// The latest exposition: frames of "<byte count>\n<bytes>" on stdin. The
/// process ends when stdin does (the station has ended).
final class MetricsFrames: Sendable {
    private let latest = Mutex("")

    var text: String { latest.withLock { $0 } }

    func readInBackground(from input: FileHandle) {
        let thread = Thread { [self] in
            var buffer = Data()
            while true {
                let chunk = input.availableData
                if chunk.isEmpty { Foundation.exit(ExitStatus.success.rawValue) }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A), let count = Int(String(decoding: buffer[..<newline], as: UTF8.self)),
                      buffer.distance(from: newline, to: buffer.endIndex) > count {
                    let start = buffer.index(after: newline)
                    let end = buffer.index(start, offsetBy: count)
                    let frame = String(decoding: buffer[start..<end], as: UTF8.self)
                    latest.withLock { $0 = frame }
                    buffer = Data(buffer[end...])
                }
            }
        }
        thread.start()
    }
}

/// HOST:PORT, [IPv6]:PORT; port 0 lets the system choose (the address served is printed).
struct ListenAddress {
    let host: String
    let port: Int

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port)
        else { throw ValidationError("--listen takes HOST:PORT (127.0.0.1:8026, [::1]:8026): \(text)") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen needs a host: \(text)") }
        self.host = host
        self.port = port
    }

    /// Only this machine can connect: 127.0.0.0/8, ::1, localhost.
    var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
}

/// The dashboard's bearer token: the first line of a file only its owner may read.
enum BearerToken {
    static func read(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw DashboardFailure.token(path, "not a readable file") }
        guard info.st_mode & 0o077 == 0 else {
            throw DashboardFailure.token(path, String(format: "mode %03o lets others read it: chmod 600 it", info.st_mode & 0o777))
        }
        guard info.st_uid == getuid() else { throw DashboardFailure.token(path, "owned by another user") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let token = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)?
            .trimmingCharacters(in: .whitespaces) ?? ""
        guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 }) else {
            throw DashboardFailure.token(path, "its first line must be a token of at least 16 printable ASCII characters")
        }
        return token
    }
}

enum DashboardFailure: Error, CustomStringConvertible, ClassifiedFailure {
    case unprotected(address: String)
    case token(String, String)
    case cannotListen(String, reason: String)

    var description: String {
        switch self {
        case .unprotected(let address):
            return "--listen \(address) is reachable from other machines: give --token-file (a bearer token, owner-only) "
                + "or listen on 127.0.0.1"
        case .token(let path, let reason):
            return "--token-file \(path): \(reason)"
        case .cannotListen(let address, let reason):
            return "cannot listen on \(address): \(reason)"
        }
    }

    var exitStatus: ExitStatus {
        switch self {
        case .unprotected, .token: return .dashboardUnprotected
        case .cannotListen: return .dashboardUnavailable
        }
    }
}
