import APDU
import CardTransport
import PKCS15
import SecureChannel

/// Names a card engineer uses instead of file ids and AIDs.
struct WellKnownName {
    enum Target {
        case application([UInt8])
        /// A path below the MF.
        case fromMF([UInt8])
        /// A file id inside the PKCS#15 application DF.
        case inApplication(UInt16)
        /// The (first) DODF, wherever the ODF puts it.
        case dataObjectDirectory
    }

    let name: String
    let target: Target
    /// What `decode` makes of the file's content.
    let kind: CardDecoder.Kind?

    static let all: [WellKnownName] = [
        WellKnownName(name: "EF.DIR", target: .fromMF([0x2F, 0x00]), kind: .tlv),
        WellKnownName(name: "EF.ICCID", target: .fromMF([0x2F, 0xE2]), kind: .iccid),
        WellKnownName(name: "PKCS15", target: .application(PKCS15Application.standardAID), kind: nil),
        WellKnownName(name: "ODF", target: .inApplication(0x5031), kind: .odf),
        WellKnownName(name: "TokenInfo", target: .inApplication(0x5032), kind: .tokeninfo),
        WellKnownName(name: "DODF", target: .dataObjectDirectory, kind: .dodf),
    ]

    static func find(_ name: String) -> WellKnownName? {
        all.first { $0.name.lowercased() == name.lowercased() }
    }

    static func applicationName(_ aid: [UInt8]) -> String? {
        if IssuerSecurityDomain.defaultAIDs.contains(aid) { return IssuerSecurityDomain.name }
        return aid == PKCS15Application.standardAID ? "PKCS15" : nil
    }
}

/// Where a channel is on the card, as far as the shell followed it.
struct Location {
    /// DF names below the MF ("PKCS15", "7F10").
    var dfNames: [String] = []
    /// The application DF the channel is in, when selected by AID.
    var application: [UInt8]?
    var ef: String?
    var kind: CardDecoder.Kind?
    var structure: FileControlParameters.Structure?

    var display: String { "/" + dfNames.joined(separator: "/") + (ef.map { (dfNames.isEmpty ? "" : "/") + $0 } ?? "") }

    mutating func select(ef name: String, kind: CardDecoder.Kind?, parameters: FileControlParameters?) {
        ef = name
        self.kind = kind
        structure = parameters?.structure
    }

    /// After a SELECT by file id or path: a DF is entered, an EF becomes current.
    mutating func moved(to name: String, parameters: FileControlParameters?, fromMF: Bool) {
        if fromMF {
            dfNames = []
            application = nil
        }
        if parameters?.isDedicatedFile == true {
            dfNames.append(name)
            application = nil
            ef = nil
            kind = nil
            structure = nil
        } else {
            select(ef: name, kind: name == "2FE2" ? .iccid : nil, parameters: parameters)
        }
    }

    mutating func up() {
        if ef != nil {
            // SELECT parent from an EF goes to the parent of its DF (ISO/IEC 7816-4 table 39, P1 03).
            ef = nil
        }
        if !dfNames.isEmpty { dfNames.removeLast() }
        application = nil
        kind = nil
        structure = nil
    }
}

/// What `ls` and label navigation know of a PKCS#15 application.
struct PKCS15Directory {
    let application: PKCS15Application
    let odf: ObjectDirectory
    let tokenInfo: TokenInfo?
    let objects: [DataObjectEntry]
}

/// One logical channel: its transport, its own secure channel session and
/// its own current file, as ISO/IEC 7816-4 keeps them per channel.
final class ChannelSession {
    let number: Int
    /// Commands on this channel, before any secure messaging.
    let link: CardChannel
    var secure: SecureCardChannel?
    var location = Location()
    var pkcs15: PKCS15Directory?

    init(number: Int, link: CardChannel) {
        self.number = number
        self.link = link
    }

    var transport: CardChannel { secure ?? link }

    func endSecureChannel() {
        secure?.close()
        secure = nil
    }

    func enterApplication(_ aid: [UInt8], name: String?) {
        if secure != nil { endSecureChannel() }
        location = Location(dfNames: [name ?? Hex.encode(aid)], application: aid)
        if pkcs15?.application.applicationID != aid { pkcs15 = nil }
    }

    /// ODF, TokenInfo and DODFs of the PKCS#15 application this channel is in, read once.
    func pkcs15Directory() throws -> PKCS15Directory {
        if let pkcs15 { return pkcs15 }
        guard let aid = location.application else {
            throw ScriptFailure.invalidArgument("not inside an application: cd PKCS15 first")
        }
        let chunk = secure?.maxResponseData ?? 256
        let reader = TransparentFileReader(channel: transport, applicationPath: nil, chunkLength: min(256, chunk))
        let odf = try ObjectDirectory(bytes: reader.read(PKCS15Path(path: [0x50, 0x31])))
        let tokenInfo = try? TokenInfo(bytes: reader.read(PKCS15Path(path: [0x50, 0x32])))
        var objects: [DataObjectEntry] = []
        for path in odf.dataObjectDirectories {
            objects += try DataObjectEntry.parseDirectory(reader.read(path), file: "EF(DODF) \(path)")
        }
        let application = PKCS15Application(applicationID: aid, path: nil, label: nil, foundBy: "aid")
        let directory = PKCS15Directory(application: application, odf: odf, tokenInfo: tokenInfo, objects: objects)
        pkcs15 = directory
        // Reading moved the card's current EF.
        location.ef = nil
        return directory
    }
}

/// A resolved name: the SELECT to send and how the location changes if it succeeds.
struct NavigationTarget {
    let command: CommandAPDU
    var endsSession = false
    let apply: (ChannelSession, FileControlParameters?) -> Void

    init(command: CommandAPDU, endsSession: Bool = false, apply: @escaping (ChannelSession, FileControlParameters?) -> Void) {
        self.command = command
        self.endsSession = endsSession
        self.apply = apply
    }

    /// SELECT for a PKCS#15 path: from the MF, a file id, or relative to the current DF.
    static func selectCommand(_ path: [UInt8]) -> CommandAPDU {
        if path.starts(with: [0x3F, 0x00]) {
            return ISOCommand.selectPath(Array(path.dropFirst(2)), fromMF: true, returnFCP: true)
        }
        if path.count == 2 { return ISOCommand.selectFile(UInt16(path[0]) << 8 | UInt16(path[1]), returnFCP: true) }
        return ISOCommand.selectPath(path, fromMF: false, returnFCP: true)
    }
}
