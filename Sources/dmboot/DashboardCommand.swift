import ArgumentParser
import Foundation

/// `dmboot dashboard`: replaces itself with dmboot-dashboard (`Companion`),
/// giving it the database's URL (and --results-password-file's password, as
/// libpq's PGPASSWORD) in its environment, never on a command line another
/// user could read in /proc.
struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "A read-only web page of the line over the results database: stations, batches, charts, live.",
        discussion: """
        Served by dmboot-dashboard (installed beside dmboot). The page polls GET /api/v1/overview every 2 s \
        (docs/dashboard-openapi.yaml). Listening beyond loopback needs --token-file: the API then asks for \
        `Authorization: Bearer <token>`, and the page asks for the token once.
        """)

    @OptionGroup var database: ResultsDatabaseOptions

    @Option(help: ArgumentHelp("Address to listen on, HOST:PORT (port 0: any free port, printed).", valueName: "host:port"))
    var listen = "127.0.0.1:8026"

    @Option(help: ArgumentHelp("A file (mode 0600) whose first line is the bearer token; required beyond loopback.",
                               valueName: "file"))
    var tokenFile: String?

    func run() throws {
        let url = try database.requiredURL()
        let path = try Companion.path()
        setenv("DMBOOT_RESULTS", url, 1)
        if let password = try database.password() { setenv("PGPASSWORD", password, 1) }
        let arguments = [path, "serve", "--listen", listen] + (tokenFile.map { ["--token-file", $0] } ?? [])
        var pointers = arguments.map { strdup($0) } + [nil]
        execv(path, &pointers)
        throw CompanionError.missing("\(path) (\(String(cString: strerror(errno))))")
    }
}
