import APDU
import ArgumentParser
import CardSession
import CardTransport
import Foundation
import PKCS15
import SecureChannel

struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card", abstract: "Inspect the card in a reader.",
        subcommands: [CardInfoCommand.self])
}

struct CardInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the card's ATR decoded and its PKCS#15 application: TokenInfo and data objects.",
        discussion: """
        The PKCS#15 directory files (ODF, TokenInfo, DODF) are read in clear; no bootstrap EF is read and no key \
        is needed. A card without a PKCS#15 application shows its ATR only.
        """)

    @OptionGroup var readerOptions: ReaderOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let context = try PCSCContext()
        let card = try readerOptions.connect(context)
        defer { card.disconnect() }
        let atrBytes = try card.atr()
        let atr = try? ATR(bytes: atrBytes)
        var directory = BootstrapReader(keys: nil)
        directory.readsObjects = false
        let pkcs15: PKCS15Contents?
        let identity: CardIdentity?
        do {
            let result = try directory.read(over: ISO7816Channel(link: card), atr: atrBytes)
            pkcs15 = result.contents
            identity = result.identity
        } catch PKCS15Error.noPKCS15Application {
            pkcs15 = nil
            identity = nil
        }
        let navigator = pkcs15.map { PKCS15Navigator(application: $0.application) }
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
                object["extendedLength"] = atr.supportsExtendedLength
            }
            object["cardIdentity"] = identity?.reference ?? NSNull()
            object["cardIdentitySource"] = identity?.source.rawValue ?? NSNull()
            if let pkcs15, let navigator {
                object["pkcs15"] = [
                    "application": Hex.encode(pkcs15.application.applicationID),
                    "foundBy": pkcs15.application.foundBy,
                    "serialNumber": pkcs15.tokenInfo.serialHex,
                    "label": pkcs15.tokenInfo.label ?? NSNull(),
                    "manufacturer": pkcs15.tokenInfo.manufacturer ?? NSNull(),
                    "objects": pkcs15.dataObjects.map { entry in
                        [
                            "type": entry.kind.rawValue,
                            "label": entry.label ?? NSNull(),
                            "applicationName": entry.applicationName ?? NSNull(),
                            "oid": entry.oid ?? NSNull(),
                            "path": Self.describe(entry.value),
                            "bootstrap": navigator.classify(entry)?.rawValue ?? NSNull(),
                        ] as [String: Any]
                    },
                ] as [String: Any]
            } else {
                object["pkcs15"] = NSNull()
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
        guard let pkcs15, let navigator else {
            Output.line("PKCS#15     none")
            return
        }
        Output.line("identity    \(identity?.reference ?? "unidentified")")
        Output.line("PKCS#15     \(Hex.encode(pkcs15.application.applicationID)) (found by \(pkcs15.application.foundBy))")
        Output.line("token       serial \(pkcs15.tokenInfo.serialHex)\(pkcs15.tokenInfo.label.map { ", \"\($0)\"" } ?? "")\(pkcs15.tokenInfo.manufacturer.map { ", by \($0)" } ?? "")")
        for entry in pkcs15.dataObjects {
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            Output.line("  \(entry.kind.rawValue)  \(entry.label ?? "(no label)")\(entry.oid.map { "  \($0)" } ?? "")  \(Self.describe(entry.value))\(role)")
        }
    }

    static func describe(_ value: DataObjectEntry.Value?) -> String {
        switch value {
        case .path(let path)?: return "\(path)"
        case .direct(let bytes)?: return "direct, \(bytes.count) bytes"
        case nil: return "no value"
        }
    }
}
