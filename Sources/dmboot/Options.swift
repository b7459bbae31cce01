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

    @Flag(help: "Connect exclusively, so no other application can talk to the card meanwhile.")
    var exclusive = false

    func validate() throws {
        try NumberRange.check(wait, "--wait", 0...86_400)
    }

    /// Resolves the reader, waits for the card as asked, and connects. A
    /// wait is said on stderr when it starts, so that a person (or a script)
    /// at an empty reader knows dmboot is ready for the card.
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
        return try context.connect(reader: name, share: exclusive ? .exclusive : .shared, reset: reset)
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Write one JSON object on stdout instead of text.")
    var json = false
}
