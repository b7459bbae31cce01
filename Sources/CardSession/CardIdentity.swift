import APDU
import CardTransport
import SecureChannel

/// The ICCID of a UICC, from EF.ICCID (2FE2 under the MF, ETSI TS 102 221
/// 13.2): up to 20 BCD digits, each byte holding two digits low nibble
/// first, F filling an odd count.
public struct ICCID: Hashable, Sendable, CustomStringConvertible {
    public let digits: String

    /// Decodes the EF's bytes; `nil` when they hold no digit or a nibble
    /// other than a digit comes before the F filler.
    public init?(bytes: [UInt8]) {
        var text = ""
        reading: for byte in bytes.prefix(10) {
            for nibble in [byte & 0x0F, byte >> 4] {
                if nibble == 0x0F { break reading }
                guard nibble <= 9 else { return nil }
                text.append(Character(Unicode.Scalar(UInt8(ascii: "0") + nibble)))
            }
        }
        guard !text.isEmpty else { return nil }
        digits = text
    }

    public var description: String { digits }

    /// ISO/IEC 7816-4 table 6 "file or application not found": the one
    /// answer that says the card has no EF.ICCID.
    public static let notFound = StatusWord(0x6A82)

    /// Reads EF.ICCID in clear: SELECT 3F00/2FE2 (no response data), READ
    /// BINARY of its 10 bytes. `nil` when the card has no such EF (6A82) or
    /// its content is not an ICCID. Any other refusal is thrown: a card left
    /// inside another client's secure channel refuses a plain SELECT (6982),
    /// and taking that for "no ICCID" would file the same card under its
    /// PKCS#15 serial now and its ICCID next time (issue 25 item 1).
    public static func read(over channel: CardChannel) throws -> ICCID? {
        let select = try channel.transmit(ISOCommand.selectPath([0x2F, 0xE2], fromMF: true))
        if select.status == notFound { return nil }
        guard select.status == .success || select.status.isWarning else {
            throw CardStatusError("SELECT EF.ICCID (3F00/2FE2)", select.status)
        }
        let response = try channel.transmit(ISOCommand.readBinary(offset: 0, length: 10))
        guard response.status == .success || response.status == StatusWord(0x6282) else {
            throw CardStatusError("READ BINARY of EF.ICCID", response.status)
        }
        return ICCID(bytes: response.data)
    }
}

/// Which identity a result carries: EF.ICCID when the card has one, since a
/// TokenInfo serial may be empty or cloned across a batch (issue 14 item 12);
/// otherwise the PKCS#15 serial, which then says so.
extension CardIdentity {
    public enum Source: String, Sendable {
        case iccid
        case tokenSerial = "pkcs15-serial"
        /// Neither: an empty TokenInfo serial and no EF.ICCID.
        case none
    }

    public var source: Source {
        if iccid != nil { return .iccid }
        if let pkcs15SerialNumber, !pkcs15SerialNumber.isEmpty { return .tokenSerial }
        return .none
    }

    /// `iccid:8901...`, `pkcs15:44454D4F0001` or `unidentified`: how stores,
    /// logs and reports name the card.
    public var reference: String {
        switch source {
        case .iccid: return "iccid:\(iccid ?? "")"
        case .tokenSerial: return "pkcs15:\(pkcs15SerialNumber ?? "")"
        case .none: return "unidentified"
        }
    }
}
