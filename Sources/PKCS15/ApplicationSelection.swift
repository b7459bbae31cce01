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

    /// EF(DIR) first, in clear, then SELECT by the standard AID (FCP
    /// requested: it costs no APDU and gives the DF's file id and full
    /// name). PKCS#15 v1.1 5.4 lets EF(DIR)'s DDO (73) move the ODF and the
    /// TokenInfo away from 5031/5032 even when the AID selects the
    /// application, and OpenSC pkcs15.c reads EF(DIR) (sc_enum_apps) before
    /// it binds for that reason. EF(DIR) is read only as far as the entry
    /// the AID names; a card without it (6A82) costs the one SELECT. When the
    /// card does not know the AID, the entries already read and the rest of
    /// EF(DIR) name the application, selected then by AID or path.
    public static func select(over channel: CardChannel, aid: [UInt8] = standardAID) throws -> PKCS15Application {
        var directory = try DirectoryCursor(over: channel)
        var read: [DirectoryEntry] = []
        var unreadable: CardStatusError?
        do {
            while let entry = try directory?.next() {
                read.append(entry)
                if entry.applicationID.starts(with: aid) { break }
            }
        } catch let error as CardStatusError {
            // An EF(DIR) the card will not read is not needed while the AID selects.
            unreadable = error
            directory = nil
        }
        let response = try channel.selectApplication(aid)
        if response.status == .success || response.status.isWarning {
            let control = FileControlParameters(bytes: response.data)
            let reported = control.dfName.flatMap { $0.isEmpty ? nil : $0 }
            let entry = read.last { $0.applicationID.starts(with: aid) }
            return PKCS15Application(applicationID: reported ?? aid, requestedID: reported != nil && reported != aid ? aid : nil,
                                     path: control.fileID.map { [0x3F, 0x00] + $0 }, label: nil, foundBy: "aid",
                                     odfPath: entry?.odfPath, tokenInfoPath: entry?.tokenInfoPath)
        }
        guard response.status == StatusWord(0x6A82) || response.status == StatusWord(0x6A81) else {
            throw CardStatusError("SELECT PKCS#15 application", response.status)
        }
        if let unreadable { throw unreadable }
        guard var directory else { throw PKCS15Error.noPKCS15Application }
        return try selectThroughDirectory(&directory, read: read, over: channel, preferred: aid)
    }

    /// Every PKCS#15 entry is tried in turn, not only the first: a card may
    /// list an application it no longer holds, or several; the first one
    /// the card selects is used. A failed SELECT leaves EF(DIR) the current
    /// EF (ISO/IEC 7816-4 7.1.1), so reading its records goes on.
    private static func selectThroughDirectory(_ directory: inout DirectoryCursor, read: [DirectoryEntry],
                                               over channel: CardChannel, preferred: [UInt8]) throws -> PKCS15Application {
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
        for entry in read {
            if let application = try attempt(entry) { return application }
        }
        while let entry = try directory.next() {
            if let application = try attempt(entry) { return application }
        }
        if let refusal { throw refusal }
        throw PKCS15Error.noPKCS15Application
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

/// EF(DIR) read entry by entry, only as far as its reader needs. It is a
/// record EF on most cards and a transparent EF holding the same templates
/// one after the other on others; OpenSC dir.c (sc_enum_apps) reads both,
/// and so does dmboot. Records are read one by one, so a card whose first
/// entry is the application costs one READ RECORD.
struct DirectoryCursor {
    private let channel: CardChannel
    private var entries: [DirectoryEntry] = []
    /// The next record to read; nil once the records are all read, or for a transparent EF(DIR).
    private var nextRecord: Int?

    /// nil when the card has no EF(DIR) (or refuses its SELECT): one APDU.
    /// 6700 and 6F00 are thrown: the first APDU of a session is the one that
    /// probes extended length, and they say the card refused its form.
    init?(over channel: CardChannel) throws {
        let response = try channel.select { ISOCommand.selectPath([0x2F, 0x00], fromMF: true, response: $0) }
        if [StatusWord(0x6700), StatusWord(0x6F00)].contains(response.status) {
            throw CardStatusError("SELECT EF(DIR)", response.status)
        }
        guard response.status == .success || response.status.isWarning else { return nil }
        self.channel = channel
        let parameters = FileControlParameters(bytes: response.data)
        if parameters.isRecordFile || parameters.isUnknown {
            nextRecord = 1
        } else {
            let size = parameters.size.map { min($0, 0x7FFF) }
            let content = try BinaryReading.read(over: channel, file: "EF(DIR)", start: 0, wanted: size, chunkLength: 256)
            entries = try DirectoryEntry.parse(transparent: content)
        }
    }

    mutating func next() throws -> DirectoryEntry? {
        if !entries.isEmpty { return entries.removeFirst() }
        while let number = nextRecord, number <= 254 {
            let record = try channel.transmit(ISOCommand.readRecord(number))
            // 6A83 record not found, 6A82 no such file, 6B00 a record number
            // past the end (ISO/IEC 7816-4 table 6).
            if [StatusWord(0x6A83), StatusWord(0x6A82), StatusWord(0x6B00)].contains(record.status) { break }
            // 6282: end of record reached before Ne bytes, the record is whole.
            guard record.status == .success || record.status == StatusWord(0x6282) else {
                throw CardStatusError("READ RECORD \(number) of EF(DIR)", record.status)
            }
            nextRecord = number + 1
            if let entry = try DirectoryEntry.parse(record: record.data, number: number) { return entry }
        }
        nextRecord = nil
        return nil
    }
}
