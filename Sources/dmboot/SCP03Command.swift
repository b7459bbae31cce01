import APDU
import ArgumentParser
import CardResults
import CardTransport
import CommandLineSupport
import Foundation
import JSONOutput
import KeySources
import SecureChannel

struct SCP03Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scp03", abstract: "GlobalPlatform SCP03 secure channel.",
        subcommands: [SCP03TestCommand.self])
}

struct SCP03TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Open an SCP03 channel and report what the card said (never a key).",
        discussion: """
        Selects the application (the PKCS#15 AID unless --aid or --no-select), runs INITIALIZE UPDATE and, \
        when the card cryptogram verifies, EXTERNAL AUTHENTICATE at --level. A refused EXTERNAL AUTHENTICATE \
        is never retried: cards block their keys after a few failures.
        """)

    @OptionGroup var readerOptions: ReaderOptions
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var channelOptions: ChannelOptions

    @Option(help: ArgumentHelp("AID (hex) of the application to select before the handshake.", valueName: "hex"))
    var aid = Hex.encode(PKCS15AID.value)

    @Flag(help: "Do not select an application first; talk to the one already selected.")
    var noSelect = false

    @OptionGroup var output: OutputOptions

    /// SELECT with no data asked (P2 0C) first, as before INITIALIZE UPDATE
    /// nothing of the answer is needed; a card that refuses that form (6A86,
    /// 6B00) is asked for the FCP, then the FCI (`selectApplication`), and the
    /// refusal is said on stderr.
    func select(_ applicationID: [UInt8], over channel: ISO7816Channel) throws {
        var sent: [(CommandAPDU, ResponseAPDU)] = []
        let response = try channel.selectApplication(applicationID, order: [.none, .fcp, .fci]) { sent.append(($0, $1)) }
        guard response.status == .success || response.status.isWarning else { throw CardStatusError("SELECT \(aid)", response.status) }
        if let first = sent.first, let last = sent.last, sent.count > 1 {
            Output.progress("dmboot: the card answered SELECT \(aid) with P2 \(Hex.encode([first.0.p2])) by \(first.1.status.hex); selected it with P2 \(Hex.encode([last.0.p2]))")
        }
    }

    func run() throws {
        let level = try channelOptions.securityLevel()
        let keys = try keyOptions.load()
        let applicationID = try Hex.decode(aid)
        let context = try PCSCContext()
        let card = try readerOptions.connect(context)
        // A reset ends the card's side of the session with the connection.
        defer { card.disconnect(resetCard: true) }
        let channel = ISO7816Channel(link: card)
        let started = ContinuousClock.now
        if !noSelect { try select(applicationID, over: channel) }
        let host = SCP03Host(keySource: keys.source, level: level, mode: keys.mode, applicationID: noSelect ? nil : applicationID)
        let secure = try host.open(over: channel)
        defer { secure.close() }
        let elapsed = ContinuousClock.now - started
        let answer = secure.handshake.initializeUpdate
        if output.json {
            try Output.json(SCP03TestReport(
                reader: card.reader, application: noSelect ? nil : aid, keyVersion: Hex.encode([answer.keyVersion]),
                i: Hex.encode([answer.options.rawValue]), challengeMode: "S\(answer.options.challengeMode.rawValue)",
                pseudoRandomChallenge: answer.options.pseudoRandomChallenge,
                pseudoRandomChallengeVerified: secure.handshake.pseudoRandomChallengeVerified,
                pseudoRandomChallengeCheck: secure.handshake.pseudoRandomChallenge.rawValue,
                cardWarnings: secure.handshake.warnings, sequenceCounter: answer.sequenceCounter.map { Hex.encode($0) },
                keyDiversificationData: Hex.encode(answer.keyDiversificationData), level: level.hex,
                apduCount: channel.exchangeCount, milliseconds: elapsed.milliseconds))
            return
        }
        for warning in secure.handshake.warnings { Output.progress("dmboot: warning: \(warning)") }
        Output.line("reader            \(card.reader)")
        Output.line("application       \(noSelect ? "(as selected)" : aid)")
        Output.line("key version       \(Hex.encode([answer.keyVersion]))  SCP03, i=\(Hex.encode([answer.options.rawValue])) (S\(answer.options.challengeMode.rawValue))")
        if let sequence = answer.sequenceCounter {
            Output.line("sequence counter  \(Hex.encode(sequence))  pseudo-random challenge \(secure.handshake.pseudoRandomChallenge.rawValue)")
        }
        Output.line("level reached     \(level)")
        Output.line("APDUs             \(channel.exchangeCount)")
    }
}

/// `scp03 test --json`: what the card said in the handshake, never a key.
struct SCP03TestReport: Encodable {
    let reader: String
    @NullWhenAbsent var application: String?
    let keyVersion: String
    var scp = "03"
    let i: String
    let challengeMode: String
    let pseudoRandomChallenge: Bool
    let pseudoRandomChallengeVerified: Bool
    let pseudoRandomChallengeCheck: String
    let cardWarnings: [String]
    @NullWhenAbsent var sequenceCounter: String?
    let keyDiversificationData: String
    let level: String
    let apduCount: Int
    let milliseconds: Double
}
