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

    /// The AID the card reports for the selected DF (FCI/FCP tag 84), or the
    /// one that selected it when the card reports none. SELECT by DF name may
    /// use a right-truncated name (ISO/IEC 7816-4 7.1.1), so the card's full
    /// AID can be longer than the one dmboot asked for; the card's is the one
    /// its security domain uses for a pseudo-random challenge.
    public let applicationID: [UInt8]
    /// The AID dmboot selected with, when the card reported a different one.
    public let requestedID: [UInt8]?
    /// The application DF's absolute path, when the card told it (EF(DIR), or
    /// the DF's file id in the FCI, for a DF directly under the MF).
    public let path: [UInt8]?
    public let label: String?
    /// How it was found: "aid" or "ef-dir".
    public let foundBy: String
    /// Where EF(DIR)'s discretionary data (tag 73) puts the ODF and the
    /// TokenInfo, when they are not at 5031 and 5032 (PKCS#15 v1.1 5.4.2;
    /// OpenSC pkcs15.c parse_ddo).
    public let odfPath: PKCS15Path?
    public let tokenInfoPath: PKCS15Path?

    public init(applicationID: [UInt8], requestedID: [UInt8]? = nil, path: [UInt8]?, label: String?, foundBy: String,
                odfPath: PKCS15Path? = nil, tokenInfoPath: PKCS15Path? = nil) {
        self.applicationID = applicationID
        self.requestedID = requestedID
        self.path = path
        self.label = label
        self.foundBy = foundBy
        self.odfPath = odfPath
        self.tokenInfoPath = tokenInfoPath
    }

    /// SELECT by the standard AID (FCP requested: it costs no APDU and gives
    /// the DF's file id and full name); when the card does not know it,
    /// EF(DIR) names the application, selected then by AID or path.
    public static func select(over channel: CardChannel, aid: [UInt8] = standardAID) throws -> PKCS15Application {
        let response = try channel.selectApplication(aid)
        if response.status == .success || response.status.isWarning {
            let control = FileControlParameters(bytes: response.data)
            let reported = control.dfName.flatMap { $0.isEmpty ? nil : $0 }
            return PKCS15Application(applicationID: reported ?? aid, requestedID: reported != nil && reported != aid ? aid : nil,
                                     path: control.fileID.map { [0x3F, 0x00] + $0 }, label: nil, foundBy: "aid")
        }
        guard response.status == StatusWord(0x6A82) || response.status == StatusWord(0x6A81) else {
            throw CardStatusError("SELECT PKCS#15 application", response.status)
        }
        return try selectThroughDirectory(over: channel, preferred: aid)
    }

    /// EF(DIR) is a record EF on most cards and a transparent EF holding the
    /// same templates one after the other on others; OpenSC dir.c
    /// (sc_enum_apps) reads both, and so does dmboot. Every PKCS#15 entry is
    /// tried in turn, not only the first: a card may list an application it
    /// no longer holds, or several; the first one the card selects is used.
    private static func selectThroughDirectory(over channel: CardChannel, preferred: [UInt8]) throws -> PKCS15Application {
        let selectDirectory = try channel.select { ISOCommand.selectPath([0x2F, 0x00], fromMF: true, response: $0) }
        guard selectDirectory.status == .success || selectDirectory.status.isWarning else {
            throw PKCS15Error.noPKCS15Application
        }
        let parameters = FileControlParameters(bytes: selectDirectory.data)
        var refusal: CardStatusError?
        func attempt(_ entry: DirectoryEntry) throws -> PKCS15Application? {
            guard entry.applicationID == preferred || entry.applicationID.starts(with: isoAIDPrefix) else { return nil }
            do {
                return try select(entry, over: channel)
            } catch let error as CardStatusError {
                refusal = error
                return nil
            }
        }
        if parameters.isRecordFile || parameters.isUnknown {
            // Records are read one by one, so a card whose first entry is the
            // application costs one READ RECORD. A failed SELECT leaves
            // EF(DIR) the current EF (ISO/IEC 7816-4 7.1.1), so reading goes on.
            for number in 1...254 {
                let record = try channel.transmit(ISOCommand.readRecord(number))
                // 6A83 record not found, 6A82 no such file, 6B00 a record
                // number past the end (ISO/IEC 7816-4 table 6).
                if [StatusWord(0x6A83), StatusWord(0x6A82), StatusWord(0x6B00)].contains(record.status) { break }
                // 6282: end of record reached before Ne bytes, the record is whole.
                guard record.status == .success || record.status == StatusWord(0x6282) else {
                    throw CardStatusError("READ RECORD \(number) of EF(DIR)", record.status)
                }
                if let entry = try DirectoryEntry.parse(record: record.data, number: number),
                   let application = try attempt(entry) { return application }
            }
        } else {
            for entry in try readTransparentDirectory(over: channel, size: parameters.size) {
                if let application = try attempt(entry) { return application }
            }
        }
        if let refusal { throw refusal }
        throw PKCS15Error.noPKCS15Application
    }

    private static func readTransparentDirectory(over channel: CardChannel, size: Int?) throws -> [DirectoryEntry] {
        let content = try BinaryReading.read(over: channel, file: "EF(DIR)", start: 0, wanted: size.map { min($0, 0x7FFF) },
                                             chunkLength: 256)
        return try DirectoryEntry.parse(transparent: content)
    }

    private static func select(_ entry: DirectoryEntry, over channel: CardChannel) throws -> PKCS15Application {
        if let path = entry.path, path.count >= 2 {
            let relative = path.starts(with: [0x3F, 0x00]) ? Array(path.dropFirst(2)) : path
            _ = try channel.expectSuccess(ISOCommand.selectPath(relative, fromMF: true), "SELECT PKCS#15 DF by path")
            let absolute = path.starts(with: [0x3F, 0x00]) ? path : [0x3F, 0x00] + path
            return PKCS15Application(applicationID: entry.applicationID, path: absolute, label: entry.label,
                                     foundBy: "ef-dir", odfPath: entry.odfPath, tokenInfoPath: entry.tokenInfoPath)
        }
        let response = try channel.selectApplication(entry.applicationID)
        guard response.status == .success || response.status.isWarning else {
            throw CardStatusError("SELECT PKCS#15 application from EF(DIR)", response.status)
        }
        let control = FileControlParameters(bytes: response.data)
        return PKCS15Application(applicationID: control.dfName.flatMap { $0.isEmpty ? nil : $0 } ?? entry.applicationID,
                                 path: control.fileID.map { [0x3F, 0x00] + $0 }, label: entry.label, foundBy: "ef-dir",
                                 odfPath: entry.odfPath, tokenInfoPath: entry.tokenInfoPath)
    }
}
