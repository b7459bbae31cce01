import APDU
import CardTransport

/// The PKCS#15 application as found on the card: by its AID, or through
/// EF(DIR). This runs in clear, before the secure channel, because a
/// pseudo-random card challenge depends on the selected application.
public struct PKCS15Application: Equatable, Sendable {
    /// RID A000000063 (RSA Laboratories) and "PKCS-15".
    public static let standardAID: [UInt8] = [0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35]
    /// AIDs of ISO/IEC 7816-15 applications start with this RID and PIX prefix.
    public static let isoAIDPrefix: [UInt8] = [0xE8, 0x28, 0xBD, 0x08, 0x0F]

    public let applicationID: [UInt8]
    /// The application DF's absolute path, when the card told it (EF(DIR), or
    /// the DF's file id in the FCI, for a DF directly under the MF).
    public let path: [UInt8]?
    public let label: String?
    /// How it was found: "aid" or "ef-dir".
    public let foundBy: String

    /// SELECT by the standard AID (FCI requested: it costs no APDU and gives
    /// the DF's file id); when the card does not know it, the records of
    /// EF(DIR) name the application, selected then by AID or path.
    public static func select(over channel: CardChannel, aid: [UInt8] = standardAID) throws -> PKCS15Application {
        let response = try channel.transmit(ISOCommand.selectApplication(aid, returnFCI: true))
        if response.status == .success || response.status.isWarning {
            return PKCS15Application(applicationID: aid, path: fileID(fromFCI: response.data).map { [0x3F, 0x00] + $0 },
                                     label: nil, foundBy: "aid")
        }
        guard response.status == StatusWord(0x6A82) || response.status == StatusWord(0x6A81) else {
            throw CardStatusError("SELECT PKCS#15 application", response.status)
        }
        return try selectThroughDirectory(over: channel, preferred: aid)
    }

    private static func selectThroughDirectory(over channel: CardChannel, preferred: [UInt8]) throws -> PKCS15Application {
        let selectDirectory = try channel.transmit(ISOCommand.selectPath([0x2F, 0x00], fromMF: true))
        guard selectDirectory.status == .success else { throw PKCS15Error.noPKCS15Application }
        var number = 1
        while number <= 254 {
            let record = try channel.transmit(ISOCommand.readRecord(number))
            if record.status == StatusWord(0x6A83) || record.status == StatusWord(0x6A82) { break }
            guard record.status == .success else { throw CardStatusError("READ RECORD \(number) of EF(DIR)", record.status) }
            if let entry = try DirectoryEntry.parse(record: record.data, number: number),
               entry.applicationID == preferred || entry.applicationID.starts(with: isoAIDPrefix) {
                return try select(entry, over: channel)
            }
            number += 1
        }
        throw PKCS15Error.noPKCS15Application
    }

    private static func select(_ entry: DirectoryEntry, over channel: CardChannel) throws -> PKCS15Application {
        if let path = entry.path, path.count >= 2 {
            let relative = path.starts(with: [0x3F, 0x00]) ? Array(path.dropFirst(2)) : path
            _ = try channel.expectSuccess(ISOCommand.selectPath(relative, fromMF: true), "SELECT PKCS#15 DF by path")
            let absolute = path.starts(with: [0x3F, 0x00]) ? path : [0x3F, 0x00] + path
            return PKCS15Application(applicationID: entry.applicationID, path: absolute, label: entry.label, foundBy: "ef-dir")
        }
        _ = try channel.expectSuccess(ISOCommand.selectApplication(entry.applicationID, returnFCI: false),
                                      "SELECT PKCS#15 application from EF(DIR)")
        return PKCS15Application(applicationID: entry.applicationID, path: nil, label: entry.label, foundBy: "ef-dir")
    }

    /// Tag 83 (file identifier) of an FCI or FCP template.
    static func fileID(fromFCI bytes: [UInt8]) -> [UInt8]? {
        var reader = BERReader(bytes, file: "FCI")
        guard let template = try? reader.next(), template.tag == 0x6F || template.tag == 0x62,
              var inner = try? reader.children(of: template) else { return nil }
        while let element = try? inner.next() {
            if element.tag == 0x83, element.value.count == 2 { return element.bytes }
        }
        return nil
    }
}
