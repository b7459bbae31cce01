import APDU
import ArgumentParser
import CardSession
import CardTransport
import CommandLineSupport
import Foundation
import JSONOutput
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
        let lengthChoice: BootstrapReader.LengthChoice?
        do {
            let result = try directory.read(over: ISO7816Channel(link: card), atr: atrBytes)
            pkcs15 = result.contents
            identity = result.identity
            lengthChoice = result.lengthChoice
        } catch PKCS15Error.noPKCS15Application {
            pkcs15 = nil
            identity = nil
            lengthChoice = nil
        }
        let navigator = pkcs15.map { PKCS15Navigator(application: $0.application) }
        if output.json {
            var application: CardInfoReport.Application?
            if let pkcs15, let navigator, let lengthChoice {
                application = CardInfoReport.Application(
                    application: Hex.encode(pkcs15.application.applicationID), foundBy: pkcs15.application.foundBy,
                    extendedLength: lengthChoice.extended, extendedLengthReason: lengthChoice.reason,
                    serialNumber: pkcs15.tokenInfo.serialHex, label: pkcs15.tokenInfo.label,
                    manufacturer: pkcs15.tokenInfo.manufacturer,
                    objects: pkcs15.dataObjects.map { entry in
                        CardInfoReport.DataObject(type: entry.kind.rawValue, label: entry.label, applicationName: entry.applicationName,
                                                  oid: entry.oid, path: Self.describe(entry.value),
                                                  bootstrap: navigator.classify(entry)?.rawValue)
                    })
            }
            try Output.json(CardInfoReport(
                reader: card.reader, protocol: card.protocolName, atr: atrBytes.hexString,
                decodedATR: atr.map { atr in
                    CardInfoReport.DecodedATR(convention: atr.convention.rawValue, protocols: atr.protocols.map { "T=\($0)" },
                                              historicalBytes: atr.historicalBytes.hexString, historicalText: atr.historicalText,
                                              extendedLength: atr.supportsExtendedLength)
                },
                cardIdentity: identity?.reference, cardIdentitySource: identity?.source.rawValue, pkcs15: application))
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
        guard let pkcs15, let navigator, let lengthChoice else {
            Output.line("PKCS#15     none")
            return
        }
        Output.line("APDUs       \(lengthChoice.extended ? "extended" : "short") length: \(lengthChoice.reason)")
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
        case .notRead(let reason)?: return "not read: \(reason)"
        case nil: return "no value"
        }
    }
}

/// `card info --json`: the ATR's fields appear only when the ATR follows ISO/IEC 7816-3.
struct CardInfoReport: Encodable {
    struct DecodedATR: Encodable {
        let convention: String
        let protocols: [String]
        let historicalBytes: String
        @NullWhenAbsent var historicalText: String?
        let extendedLength: Bool
    }

    struct Application: Encodable {
        let application: String
        let foundBy: String
        /// The APDU length chosen for the session, and why (issue 24 item 4).
        let extendedLength: Bool
        let extendedLengthReason: String
        let serialNumber: String
        @NullWhenAbsent var label: String?
        @NullWhenAbsent var manufacturer: String?
        let objects: [DataObject]
    }

    struct DataObject: Encodable {
        let type: String
        @NullWhenAbsent var label: String?
        @NullWhenAbsent var applicationName: String?
        @NullWhenAbsent var oid: String?
        let path: String
        @NullWhenAbsent var bootstrap: String?
    }

    let reader: String
    let `protocol`: String
    let atr: String
    let decodedATR: DecodedATR?
    @NullWhenAbsent var cardIdentity: String?
    @NullWhenAbsent var cardIdentitySource: String?
    @NullWhenAbsent var pkcs15: Application?

    enum CodingKeys: String, CodingKey {
        case reader, `protocol`, atr, cardIdentity, cardIdentitySource, pkcs15
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reader, forKey: .reader)
        try container.encode(`protocol`, forKey: .protocol)
        try container.encode(atr, forKey: .atr)
        try container.encode(_cardIdentity, forKey: .cardIdentity)
        try container.encode(_cardIdentitySource, forKey: .cardIdentitySource)
        try container.encode(_pkcs15, forKey: .pkcs15)
        try decodedATR?.encode(to: encoder)
    }
}
