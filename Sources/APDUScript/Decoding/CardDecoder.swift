import APDU
import DMBootstrap
import PKCS15
import TerminalText

/// `decode`: explains bytes a card returned as the structure a person names,
/// or the one their context and first tag point to.
public enum CardDecoder {
    public enum Kind: String, CaseIterable, Sendable {
        case auto, fcp, tlv, atr, odf, tokeninfo, dodf, bootstrap, iccid, kit, cplc, status, dump
    }

    /// Lines that explain `bytes`. `hint` is what the shell knows the bytes
    /// are (the file it read, the command it sent); `auto` uses it first.
    public static func decode(_ bytes: [UInt8], as kind: Kind, hint: Kind? = nil, revealSecrets: Bool = false) throws
        -> [String] {
        switch kind == .auto ? (hint ?? guess(bytes)) : kind {
        case .auto, .dump: return HexDump.lines(bytes)
        case .fcp: return try FileControlParameters(bytes: bytes).lines
        case .tlv: return try TLVTree.lines(bytes)
        case .atr: return try describeATR(bytes)
        case .odf:
            return try ObjectDirectory(bytes: bytes).entries.map { "\($0.kind.name)  \($0.path)" }
        case .tokeninfo:
            let info = try TokenInfo(bytes: bytes)
            return ["TokenInfo version \(info.version)", "  serial \(info.serialHex)",
                    "  manufacturer \(info.manufacturer.map(TerminalText.escape) ?? "(none)")",
                    "  label \(info.label.map(TerminalText.escape) ?? "(none)")"]
        case .dodf:
            return try DataObjectEntry.parseDirectory(bytes, file: "EF(DODF)").map(describe)
        case .bootstrap:
            // EFs are larger than the document and padded with FF or 00; a
            // document never ends in either (WBXML ends in END 01, XML in '>').
            let end = (bytes.lastIndex { $0 != 0xFF && $0 != 0x00 } ?? -1) + 1
            return try BootstrapText.lines(BootstrapDecoder().decode(Array(bytes[..<end])), revealSecrets: revealSecrets)
                .map(TerminalText.escape)
        case .iccid: return try ICCID.lines(bytes)
        case .kit:
            let keys = try KeyInformation.parseTemplate(bytes)
            return keys.isEmpty ? ["no keys in the template"] : keys.map(\.summary)
        case .cplc: return try CPLC(bytes: bytes).lines
        case .status: return try RegistryEntry.parse(bytes, p1: 0x40).flatMap(\.lines)
        }
    }

    /// What the first tag suggests when nothing else is known.
    static func guess(_ bytes: [UInt8]) -> Kind {
        switch bytes.first {
        case 0x62?, 0x64?, 0x6F?: return .fcp
        case 0xE0?: return .kit
        case 0xE3?: return .status
        case 0x3B?, 0x3F?: return (try? ATR(bytes: bytes)) != nil ? .atr : .dump
        case 0x9F? where bytes.count > 1 && bytes[1] == 0x7F: return .cplc
        default: return (try? TLVTree.lines(bytes)) != nil ? .tlv : .dump
        }
    }

    static func describeATR(_ bytes: [UInt8]) throws -> [String] {
        let atr = try ATR(bytes: bytes)
        var lines = ["ATR \(Hex.encode(bytes, separator: " "))",
                     "  convention \(atr.convention.rawValue); protocols \(atr.protocols.map { "T=\($0)" }.joined(separator: ", "))"]
        if let rate = atr.clockRateConversion { lines.append("  Fi \(rate.fi), Di \(rate.di)") }
        lines.append("  historical bytes \(Printable.hexAndText(atr.historicalBytes))")
        lines.append("  extended length \(atr.supportsExtendedLength ? "announced" : "not announced")")
        if let check = atr.checkByte { lines.append("  TCK \(Hex.encode([check]))") }
        return lines
    }

    static func describe(_ entry: DataObjectEntry) -> String {
        var text = "\(entry.kind.rawValue)DO \"\(TerminalText.escape(entry.label ?? ""))\""
        if let name = entry.applicationName { text += " application \"\(TerminalText.escape(name))\"" }
        if let oid = entry.oid {
            text += " oid \(oid)\(oid == PKCS15Navigator.dmBootstrapOID ? " (OMA DM bootstrap)" : "")"
        }
        switch entry.value {
        case .path(let path)?: text += " at \(path)"
        case .direct(let bytes)?: text += " direct value, \(bytes.count) bytes"
        case .notRead(let reason)?: text += " not read: \(reason)"
        case nil: text += " no value"
        }
        return text
    }
}

/// EF.ICCID (2FE2): the identity number in BCD with the nibbles of each byte
/// swapped and F filling the last one (ETSI TS 102 221 section 13.2), read
/// the way pySim's dec_iccid reads it.
public enum ICCID {
    public static func digits(_ bytes: [UInt8]) throws -> String {
        var nibbles = bytes.flatMap { [$0 & 0x0F, $0 >> 4] }
        while nibbles.last == 0x0F { nibbles.removeLast() }
        guard !nibbles.isEmpty else { throw GlobalPlatformDataError(what: "ICCID", reason: "no digits") }
        if let bad = nibbles.firstIndex(where: { $0 > 9 }) {
            throw GlobalPlatformDataError(what: "ICCID \(Hex.encode(bytes))",
                                          reason: "digit \(bad + 1) is \(String(nibbles[bad], radix: 16, uppercase: true)), not BCD")
        }
        return String(nibbles.map { Character(String($0)) })
    }

    /// The digits, with a note when the EF is not the 10 bytes TS 102 221 gives it.
    public static func lines(_ bytes: [UInt8]) throws -> [String] {
        let text = "ICCID \(try digits(bytes))"
        return bytes.count == 10 ? [text] : [text, "  (EF.ICCID holds \(bytes.count) bytes; ETSI TS 102 221 13.2 gives it 10)"]
    }
}
