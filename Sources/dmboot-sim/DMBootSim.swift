import ArgumentParser
import CardSimulator
import CommandLineSupport
import ExitContract
import Foundation

/// The virtual card behind pcscd, apart from dmboot: the demo card's keys and
/// the card's side of SCP03 exist only in this binary, so the one a factory
/// installs (dmboot) carries neither.
@main
struct DMBootSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmboot-sim",
        abstract: "Insert virtual cards into vpcd reader slots of pcscd and serve them until stopped.",
        discussion: """
        The card is the built-in demo card unless --profile names a JSON profile (dmboot-sim(1), SIMULATOR PROFILES). \
        pcscd must run with the vsmartcard vpcd driver; slot N listens on port 35963 + N. \
        With several --port, each slot gets its own card: the profile at the same position, or the last one given. \
        The cards are removed when this process ends (SIGINT, SIGTERM) or pcscd stops.

        With --feed COUNT it plays a station operator: it inserts COUNT cards, one after another in each slot and \
        in parallel across slots, each with its own PKCS#15 serial number and the profiles taken in turn, pulls each \
        card once the host has reset it after use, and prints a JSON line per card (commands, EXTERNAL \
        AUTHENTICATEs, seconds in the reader).

        Exit status: dmboot's contract (`dmboot exit-codes`, dmboot-sim(1)): 0 success, 2 usage, 12 the virtual card \
        could not start (profile, driver port), 13 a file cannot be read or written.
        """,
        version: "0.1.0")

    @Option(help: ArgumentHelp("Card profile (JSON); repeat for several slots or, with --feed, cards in turn. Default: the built-in demo card.", valueName: "file"))
    var profile: [String] = []

    @Option(help: ArgumentHelp("A built-in card personality instead of a profile file: \(Personality.allCases.map(\.rawValue).joined(separator: ", ")); repeatable like --profile.", valueName: "name"))
    var personality: [String] = []

    @Option(help: ArgumentHelp("vpcd port of a reader slot; repeat to serve several (default 35963, the first slot of Debian's vpcd configuration).", valueName: "port"))
    var port: [UInt16] = []

    @Option(help: ArgumentHelp("Feed this many cards through the slots, pulling each once the host is done with it.", valueName: "count"))
    var feed: Int?

    @Option(help: ArgumentHelp("With --feed: the number of the first card (0); it sets the serial, KDD and ICCID of each card, so a second batch starts after the first.", valueName: "number"))
    var firstCard = 0

    @Option(help: ArgumentHelp("With --feed: the ICCID's first digits (1 to 12, default \(CardFeeder.defaultICCIDPrefix)); zeros, then the card number in 8 digits, follow.", valueName: "digits"))
    var iccidPrefix = CardFeeder.defaultICCIDPrefix

    @Option(help: ArgumentHelp("With --feed: seconds between pulling a card and inserting the next (any, 0 too).", valueName: "seconds"))
    var gap: Double = 0.5

    @Option(help: ArgumentHelp("With --feed: seconds a card waits for the host before it is pulled unused.", valueName: "seconds"))
    var untouchedTimeout: Double = 30

    @Option(help: ArgumentHelp("Milliseconds each card waits before answering a command (a slow card).", valueName: "ms"))
    var responseDelay: Double = 0

    @Option(help: "Address of the host running pcscd.")
    var host = "127.0.0.1"

    @Option(help: "Seconds to keep retrying while the vpcd driver does not listen yet.")
    var connectTimeout: Double = 10

    @Flag(help: "Print the profile the card would use (the built-in one when no --profile) and exit.")
    var printProfile = false

    @Option(help: ArgumentHelp("Write the card's SCP03 key file (mode 0600) for dmboot --keys, and exit.", valueName: "file"))
    var writeKeys: String?

    @Flag(help: "With --write-keys: replace a file that exists (it may hold other keys).")
    var force = false

    func validate() throws {
        if let feed {
            try NumberRange.check(feed, "--feed", 1...1_000_000, unit: "a number of cards")
            try NumberRange.check(firstCard, "--first-card", CardFeeder.cardNumbers.lowerBound...(CardFeeder.cardNumbers.upperBound - feed + 1),
                                  unit: "a card number (the last card of the batch must fit in 8 digits)")
        }
        guard (1...12).contains(iccidPrefix.count), iccidPrefix.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ValidationError("--iccid-prefix takes 1 to 12 decimal digits; got \"\(iccidPrefix)\"")
        }
        for name in personality where Personality(rawValue: name) == nil {
            throw ValidationError("--personality takes \(Personality.allCases.map(\.rawValue).joined(separator: ", ")); got \(name)")
        }
        if !personality.isEmpty && !profile.isEmpty { throw ValidationError("give --profile or --personality, not both") }
        try NumberRange.check(gap, "--gap", 0...3600)
        try NumberRange.check(untouchedTimeout, "--untouched-timeout", 0.1...86_400)
        try NumberRange.check(responseDelay, "--response-delay", 0...60_000, unit: "milliseconds")
        try NumberRange.check(connectTimeout, "--connect-timeout", 0...3600)
        if feed == nil && profile.count + personality.count > max(port.count, 1) {
            throw ValidationError("\(profile.count + personality.count) profiles for \(max(port.count, 1)) slot(s): give a --port per profile, or --feed")
        }
    }

    func run() throws {
        var profiles = try profile.map { try CardProfile.load(from: URL(fileURLWithPath: $0)) }
        profiles += personality.compactMap { Personality(rawValue: $0)?.profile }
        if profiles.isEmpty { profiles = [BuiltInProfiles.demo] }
        let ports = port.isEmpty ? [VPCDConnection.defaultPort] : port
        let slots = SlotOptions(host: host, responseDelay: responseDelay / 1000, connectTimeout: connectTimeout)
        if let feed {
            return try Feeding(slots: slots, gap: gap, untouchedTimeout: untouchedTimeout, firstCard: firstCard, iccidPrefix: iccidPrefix)
                .run(profiles: profiles, ports: ports, count: feed)
        }
        if printProfile { return try Self.show(profiles[0]) }
        if let writeKeys { return try KeyFileWriting(path: writeKeys, replacing: force).write(keysOf: profiles[0]) }
        try Serving(slots: slots).run(profiles: profiles, ports: ports)
    }

    private static func show(_ profile: CardProfile) throws {
        try Output.json(profile)
    }

    /// The shared entry runs the command line and ends the process with
    /// dmboot's exit-code contract (dmboot-sim(1), EXIT STATUS).
    static func main() {
        ToolEntry(name: "dmboot-sim").run(DMBootSim.self)
    }
}

/// How each card is put into its slot.
struct SlotOptions {
    var host: String
    /// Seconds a card waits before each answer.
    var responseDelay: Double
    var connectTimeout: Double
}
