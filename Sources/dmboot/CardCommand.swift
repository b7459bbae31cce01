import APDU
import ArgumentParser
import CardTransport
import Foundation

struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card", abstract: "Inspect the card in a reader.",
        subcommands: [CardInfoCommand.self])
}

struct CardInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the card's ATR decoded: convention, protocols, historical bytes.")

    @OptionGroup var readerOptions: ReaderOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let context = try PCSCContext()
        let card = try readerOptions.connect(context)
        defer { card.disconnect() }
        let atrBytes = try card.atr()
        let atr = try? ATR(bytes: atrBytes)
        if output.json {
            var object: [String: Any] = [
                "reader": card.reader,
                "protocol": card.protocolName,
                "atr": atrBytes.hexString,
            ]
            if let atr {
                object["convention"] = atr.convention.rawValue
                object["protocols"] = atr.protocols.map { "T=\($0)" }
                object["historicalBytes"] = atr.historicalBytes.hexString
                object["historicalText"] = atr.historicalText ?? NSNull()
            }
            Output.json(object)
            return
        }
        Output.line("reader      \(card.reader)")
        Output.line("protocol    \(card.protocolName)")
        Output.line("ATR         \(atrBytes.hexString)")
        if let atr {
            Output.line("convention  \(atr.convention.rawValue)")
            Output.line("offers      \(atr.protocols.map { "T=\($0)" }.joined(separator: ", "))")
            if let (fi, di) = atr.clockRateConversion { Output.line("Fi/Di       \(fi)/\(di)") }
            Output.line("historical  \(atr.historicalBytes.hexString)\(atr.historicalText.map { "  \"\($0)\"" } ?? "")")
        } else {
            Output.line("(the ATR does not follow ISO/IEC 7816-3)")
        }
    }
}
