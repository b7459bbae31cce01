import Dispatch
import Foundation
import Hummingbird
import Logging
import Synchronization

/// Runs a router until SIGTERM or SIGINT, and prints the URL it serves on
/// stdout once it listens (the port the system chose for port 0), which is
/// how dmboot learns it.
enum Serving {
    static func run(router: Router<BasicRequestContext>, address: ListenAddress, what: String, path: String) throws {
        var logger = Logger(label: "dmboot-dashboard")
        logger.logLevel = .warning
        let shown = address.host.contains(":") ? "[\(address.host)]" : address.host
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                FileHandle.standardOutput.write(Data("http://\(shown):\(port)\(path)\n".utf8))
            },
            logger: logger)
        let failure = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) {
            throw DashboardFailure.cannotListen("\(shown):\(address.port)", reason: "\(error)")
        }
    }
}
