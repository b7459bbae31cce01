import APDU
import ArgumentParser
import CardTransport
import Foundation

/// Sends APDUs typed or piped in, one per line, and shows each response with
/// the meaning of its status word.
@main
struct APDUShell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apdu-shell",
        abstract: "Send APDUs to a card, one hex line at a time, and show each response.",
        discussion: "Lines starting with # are comments. The exit status is 0 when every APDU was exchanged.")

    @Option(name: .shortAndLong, help: "Reader: exact name, index, or a unique part of the name.")
    var reader: String?

    @Option(name: .shortAndLong, help: "Read APDUs from this file instead of standard input.")
    var file: String?

    func run() throws {
        let context = try PCSCContext()
        let name = try context.resolveReader(reader)
        let card = try context.connect(reader: name)
        defer { card.disconnect() }
        let channel = ISO7816Channel(link: card)
        let lines: [String]
        if let file {
            lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: .newlines)
        } else {
            var read: [String] = []
            while let line = Swift.readLine() { read.append(line) }
            lines = read
        }
        for (number, line) in lines.enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            do {
                let command = try CommandAPDU(bytes: Hex.decode(text))
                let response = try channel.transmit(command)
                print("> \(command)")
                print("< \(response)  \(response.status.meaning)")
            } catch let error as Hex.ParseError {
                throw ValidationError("line \(number + 1): \(error)")
            } catch let error as APDUError {
                throw ValidationError("line \(number + 1): \(error)")
            }
        }
    }
}
