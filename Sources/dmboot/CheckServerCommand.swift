import ArgumentParser
import CardCrypto
import CommandLineSupport
import DMTree
import Foundation
import JSONOutput
import ServerCheck

struct CheckServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-server",
        abstract: "Open a TLS connection to each account's bootstrap server with the credentials the tree holds.",
        discussion: """
        Reads ./DMAcc/<x>/Auth/Bootstrap (ServerURI, SecMode, the identities and ClientSecretKey) and connects with \
        OpenSSL: PSK (RFC 4279) or X.509 with the client certificate and key; TLS 1.1 at least, TLS 1.2 at most, only \
        the client cipher suites of the OMA DM 1.3 TLS CR. Reports the protocol, cipher suite and server identity. \
        The keys go from the tree into OpenSSL and nowhere else.
        """)

    @OptionGroup var treeOptions: TreeOptions

    @Option(help: ArgumentHelp("Only this account (the x of ./DMAcc/x).", valueName: "name"))
    var account: String?

    @Option(help: ArgumentHelp("Extra trust anchors (PEM) for X.509 mode, beside ServerPublicKeyPSKIdentity.", valueName: "file"))
    var caFile: String?

    @Option(help: ArgumentHelp("Seconds to wait for the connection and the handshake.", valueName: "seconds"))
    var timeout: Double = 10

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try NumberRange.check(timeout, "--timeout", 0.1...600)
    }

    func run() throws {
        let store = try treeOptions.open()
        var names = try store.installedAccounts().map(\.name)
        if let account {
            guard names.contains(account) else { throw TreeStoreError.noSuchNode("./DMAcc/\(account)") }
            names = [account]
        }
        let withBootstrap = names.filter { name in
            (try? store.node(at: "./DMAcc/\(name)/Auth/Bootstrap")) != nil || account != nil
        }
        var results: [ServerResult] = []
        var firstFailure: Error?
        for name in withBootstrap {
            do {
                let report = try TLSProbe(timeout: timeout, caFile: caFile).check(try Self.credentials(store, account: name))
                results.append(.reached(ServerResult.Reached(
                    account: name, host: report.host, port: Int(report.port), mode: report.mode.rawValue,
                    protocol: report.protocolVersion, cipherSuite: report.cipherSuite,
                    serverIdentity: report.serverIdentity, serverIssuer: report.serverIssuer)))
                if !output.json {
                    Output.line("./DMAcc/\(name): \(report.host):\(report.port) \(report.mode.rawValue) \(report.protocolVersion) \(report.cipherSuite)\(report.serverIdentity.map { " server \($0)" } ?? "")")
                }
            } catch {
                firstFailure = firstFailure ?? error
                results.append(.failed(ServerResult.Failed(account: name, error: "\(error)")))
                if !output.json { Output.line("./DMAcc/\(name): FAILED: \(error)") }
            }
        }
        if withBootstrap.isEmpty { firstFailure = ServerCheckError.missingNode("Auth/Bootstrap in any account") }
        if output.json {
            let report = ServerReport(tree: store.path, servers: results, ok: firstFailure == nil ? true : nil)
            try Output.json(ReportWithFailure(report, failure: firstFailure.map(FailureReport.init)))
            if let firstFailure { throw ReportedFailure(error: firstFailure) }
        }
        if let firstFailure { throw firstFailure }
    }

    static func credentials(_ store: TreeStore, account: String) throws -> BootstrapCredentials {
        func value(_ leaf: String) throws -> [UInt8] {
            let path = "./DMAcc/\(account)/Auth/Bootstrap/\(leaf)"
            guard let node = try? store.node(at: path), let value = node.value else { throw ServerCheckError.missingNode(path) }
            return value
        }
        return BootstrapCredentials(
            serverURI: String(decoding: try value("ServerURI"), as: UTF8.self),
            mode: try BootstrapCredentials.mode(from: try value("SecMode")),
            clientIdentity: try value("ClientPublicKeyPSKIdentity"),
            serverIdentity: (try? value("ServerPublicKeyPSKIdentity")) ?? [],
            clientSecret: SecretBytes(try value("ClientSecretKey")))
    }
}

/// `tree check-server --json`: each server's result; `ok` is true, or false
/// with the first failure's fields.
struct ServerReport: Encodable {
    let tree: String
    let servers: [ServerResult]
    let ok: Bool?
}

/// One account's server: what the handshake found, or why it failed.
enum ServerResult: Encodable {
    struct Reached: Encodable {
        let account: String
        var ok = true
        let host: String
        let port: Int
        let mode: String
        let `protocol`: String
        let cipherSuite: String
        @NullWhenAbsent var serverIdentity: String?
        @NullWhenAbsent var serverIssuer: String?
    }

    struct Failed: Encodable {
        let account: String
        var ok = false
        let error: String
    }

    case reached(Reached)
    case failed(Failed)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .reached(let result): try result.encode(to: encoder)
        case .failed(let result): try result.encode(to: encoder)
        }
    }
}
