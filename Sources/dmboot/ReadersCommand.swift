import APDU
import ArgumentParser
import CardTransport
import CommandLineSupport

struct ReadersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "readers", abstract: "List the PC/SC readers, whether each holds a card, and its ATR.")

    @Flag(help: "Keep watching: readers arriving and leaving, cards inserted (ATR decoded) and removed, until Ctrl-C; JSON lines with --json.")
    var watch = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        if watch { return try ReaderWatch(json: output.json).run() }
        let context = try PCSCContext()
        let readers = try context.readers()
        if output.json {
            try Output.json(ReaderList(readers: readers.map(ReaderList.Reader.init)))
            return
        }
        guard !readers.isEmpty else { throw PCSCError.noReaders }
        for reader in readers {
            let card = reader.cardPresent ? "card  \(reader.atr.hexString)" : "empty"
            Output.line("[\(reader.index)] \(reader.name)  \(card)\(reader.exclusive ? "  (in exclusive use)" : "")")
        }
    }
}

/// `readers --json`.
struct ReaderList: Encodable {
    struct Reader: Encodable {
        let index: Int
        let name: String
        let cardPresent: Bool
        let exclusive: Bool
        let atr: String

        init(_ reader: ReaderState) {
            index = reader.index
            name = reader.name
            cardPresent = reader.cardPresent
            exclusive = reader.exclusive
            atr = reader.atr.hexString
        }
    }

    let readers: [Reader]
}
