import ArgumentParser
import CardSimulator
import Foundation

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Insert a virtual card into a vpcd reader slot of pcscd and serve it until stopped.",
        discussion: """
        The card is the built-in demo card unless --profile names a JSON profile (dmboot(1), SIMULATOR PROFILES).
        pcscd must run with the vsmartcard vpcd driver; slot N listens on port 35963 + N.
        The card is removed when this process ends (SIGINT, SIGTERM) or pcscd stops.
        """)

    @Option(help: "Card profile (JSON). Default: the built-in demo card.")
    var profile: String?

    @Option(help: "vpcd port of the reader slot (35963 is the first slot of Debian's vpcd configuration).")
    var port: UInt16 = VPCDConnection.defaultPort

    @Option(help: "Address of the host running pcscd.")
    var host = "127.0.0.1"

    @Option(help: "Seconds to keep retrying while the vpcd driver does not listen yet.")
    var connectTimeout: Double = 10

    @Flag(help: "Print the profile the card would use (the built-in one when no --profile) and exit.")
    var printProfile = false

    @Option(help: ArgumentHelp("Write the card's SCP03 key file (mode 0600) for --keys, and exit.", valueName: "file"))
    var writeKeys: String?

    func run() throws {
        let cardProfile = try profile.map { try CardProfile.load(from: URL(fileURLWithPath: $0)) } ?? BuiltInProfiles.demo
        if printProfile {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(cardProfile))
            FileHandle.standardOutput.write(Data("\n".utf8))
            return
        }
        if let writeKeys {
            guard let domain = cardProfile.scp03 else {
                throw ValidationError("the card \"\(cardProfile.name)\" has no SCP03 security domain, so no keys")
            }
            try PrivateFile.write(domain.keyFileJSON(), to: writeKeys)
            Output.progress("dmboot simulate: wrote the SCP03 keys of \"\(cardProfile.name)\" to \(writeKeys) (mode 0600)")
            return
        }
        let card = try VirtualCard(profile: cardProfile)
        let connection = VPCDConnection(card: card)
        try connection.connect(host: host, port: port, retryFor: connectTimeout)
        Output.progress("dmboot simulate: \"\(cardProfile.name)\" inserted in the vpcd slot at \(host):\(port)")
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { connection.close() }
            source.resume()
            Self.signalSources.append(source)
        }
        try connection.serve()
        Output.progress("dmboot simulate: card removed")
    }

    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
}
