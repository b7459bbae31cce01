import ArgumentParser
import CardTransport
import CommandLineSupport

/// How every card command picks its reader.
struct ReaderOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Reader: exact name, index from `dmboot readers`, or a unique part of the name.",
        discussion: "May be left out when exactly one reader is connected, or exactly one holds a card."))
    var reader: String?

    @Option(help: "Seconds to wait for a card when none is in the reader (0: do not wait).")
    var wait: Double = 0

    @Flag(help: "Connect exclusively: another application cannot even connect to the card meanwhile (without it, dmboot still holds the card in a PC/SC transaction for its whole session).")
    var exclusive = false

    func validate() throws {
        try NumberRange.check(wait, "--wait", 0...86_400)
    }

    /// Resolves the reader, waits for the card as asked, connects, and holds
    /// the card for the whole command (`PCSCCard.holdCard`): another PC/SC
    /// client's APDUs or reset between two of ours would end the secure
    /// channel. A wait is said on stderr when it starts, so that a person (or
    /// a script) at an empty reader, or at a card another application is
    /// using, knows what dmboot waits for.
    /// `reset` starts the card from a known state (a command that reads its identity needs it).
    func connect(_ context: PCSCContext, reset: Bool = false) throws -> PCSCCard {
        let name = try context.resolveReader(reader)
        do {
            try context.waitForCard(in: name, timeout: 0)
        } catch PCSCError.timeout {
            guard wait > 0 else { throw PCSCError.noCard(reader: name) }
            Output.progress("waiting up to \(String(format: "%g", wait)) s for a card in \"\(name)\"")
            try context.waitForCard(in: name, timeout: wait)
        }
        let card = try context.connect(reader: name, share: exclusive ? .exclusive : .shared, reset: reset)
        try card.holdCard {
            Output.progress("dmboot: another application is using the card in \"\(name)\" (a PC/SC transaction); waiting until it lets go")
        }
        return card
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Write one JSON object on stdout instead of text.")
    var json = false
}
