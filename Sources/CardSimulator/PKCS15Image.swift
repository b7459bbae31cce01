import APDU
import Foundation
import PKCS15

/// A PKCS#15 application described at the level a card issuer thinks in
/// (which bootstrap documents, where), turned into the DER files a card holds:
/// EF(DIR) record, EF(ODF), EF(TokenInfo), EF(DODF) and the object EFs.
public struct PKCS15ImageProfile: Codable, Equatable, Sendable {
    public struct Object: Codable, Equatable, Sendable {
        /// "dm" (oidDO 2.23.43.7.1), "cp" (a ProvSC-labelled opaqueDO), or "opaque" (any other data).
        public var kind: String
        public var label: String
        public var applicationName: String?
        /// File id of the EF that holds the document, in the application DF.
        public var fid: String
        public var content: String?
        public var contentFile: String?
        /// Bytes before the document in the EF; the DODF Path then carries index and length.
        public var offset: Int?
        /// EF size when larger than its content (padded with FF).
        public var size: Int?
        /// A length written in the Path that differs from the content (to describe broken cards).
        public var declaredLength: Int?
        /// A Path written into the DODF instead of the EF's own (hex), for cards that point elsewhere.
        public var pathOverride: String?

        public init(kind: String, label: String, applicationName: String? = nil, fid: String, content: String? = nil,
                    offset: Int? = nil, size: Int? = nil, declaredLength: Int? = nil, pathOverride: String? = nil) {
            self.kind = kind
            self.label = label
            self.applicationName = applicationName
            self.fid = fid
            self.content = content
            self.offset = offset
            self.size = size
            self.declaredLength = declaredLength
            self.pathOverride = pathOverride
        }
    }

    public var aid: String?
    public var fid: String?
    public var label: String?
    public var serialNumber: String
    public var manufacturer: String?
    /// Whether the application answers SELECT by its AID (false: only EF(DIR) leads to it).
    public var selectableByAID: Bool?
    /// Whether EF(DIR) lists the application.
    public var inDirectory: Bool?
    /// Security level (hex) the object EFs demand for READ BINARY.
    public var readLevel: String?
    /// What the object EFs demand for UPDATE BINARY: a secure channel level
    /// (hex) and a verified PIN (its reference in hex); neither, no demand.
    public var updateLevel: String?
    public var updatePIN: String?
    /// File ids of the directory files (5031, 5032, 5033 by default).
    public var odfFID: String?
    public var tokenInfoFID: String?
    public var dodfFID: String?
    /// Whether EF(DIR)'s template carries a DDO (73) with the ODF and
    /// TokenInfo paths (PKCS#15 v1.1 5.4.2), as cards with moved files must.
    public var pathsInDDO: Bool?
    /// Whether EF(DIR) is a transparent EF rather than a record EF.
    public var transparentDirectory: Bool?
    /// Whether the ODF and DODF give absolute paths (3F00/DF/EF).
    public var absolutePaths: Bool?
    /// The TokenFlags BIT STRING content in hex ("0780" by default; "00" is
    /// an empty one, DER that ends in 00).
    public var tokenFlags: String?
    public var objects: [Object]

    public init(serialNumber: String, label: String? = nil, manufacturer: String? = nil, readLevel: String? = "33",
                objects: [Object]) {
        self.serialNumber = serialNumber
        self.label = label
        self.manufacturer = manufacturer
        self.readLevel = readLevel
        self.objects = objects
    }

    mutating func resolveContentFiles(relativeTo folder: URL) throws {
        for index in objects.indices {
            guard let file = objects[index].contentFile else { continue }
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : folder.appendingPathComponent(file)
            guard let data = try? Data(contentsOf: url) else {
                throw ProfileError.unreadable(url.path, reason: "contentFile of PKCS#15 object \"\(objects[index].label)\" cannot be read")
            }
            objects[index].content = Hex.encode([UInt8](data))
            objects[index].contentFile = nil
        }
    }

    /// The application DF and the EF(DIR) record that leads to it.
    func files() throws -> (application: FileNode, directoryRecord: String) {
        let aidBytes = try aid.map(Hex.decode) ?? PKCS15Application.standardAID
        let dfID = try Hex.decode(fid ?? "5015")
        let odfID = try Hex.decode(odfFID ?? "5031"), tokenInfoID = try Hex.decode(tokenInfoFID ?? "5032")
        let dodfID = try Hex.decode(dodfFID ?? "5033")
        guard [dfID, odfID, tokenInfoID, dodfID].allSatisfy({ $0.count == 2 }) else {
            throw ProfileError.invalid("pkcs15: fid, odfFID, tokenInfoFID and dodfFID are 2 bytes each")
        }
        let prefix: [UInt8] = absolutePaths == true ? [0x3F, 0x00] + dfID : []
        var children: [FileNode] = []
        var dodf: [UInt8] = []
        for object in objects {
            let body = try Hex.decode(object.content ?? "")
            let fidBytes = try Hex.decode(object.fid)
            guard fidBytes.count == 2 else { throw ProfileError.invalid("pkcs15 object \(object.label): fid is 2 bytes") }
            let offset = object.offset ?? 0
            let path: PKCS15Path
            if let override = object.pathOverride {
                path = PKCS15Path(path: try Hex.decode(override))
            } else if object.offset != nil || object.declaredLength != nil {
                path = PKCS15Path(path: prefix + fidBytes, index: offset, length: object.declaredLength ?? body.count)
            } else {
                path = PKCS15Path(path: prefix + fidBytes)
            }
            switch object.kind {
            case "dm":
                dodf += DER.oidDataObject(label: object.label, applicationName: object.applicationName,
                                          oid: PKCS15Navigator.dmBootstrapOID, path: path)
            case "cp", "opaque":
                dodf += DER.opaqueDataObject(label: object.label, applicationName: object.applicationName, path: path)
            default:
                throw ProfileError.invalid("pkcs15 object \(object.label): kind is dm, cp or opaque")
            }
            if object.pathOverride == nil || object.content != nil {
                let content = [UInt8](repeating: 0x00, count: offset) + body
                var node = FileNode(fid: object.fid, content: Hex.encode(content),
                                    size: object.size.map { max($0, content.count) }, readLevel: readLevel)
                node.updateLevel = updateLevel
                node.updatePIN = updatePIN
                children.append(node)
            }
        }
        let odf = DER.objectDirectory([(.dataObjects, PKCS15Path(path: prefix + dodfID))])
        let tokenInfo = DER.tokenInfo(serialNumber: try Hex.decode(serialNumber), manufacturer: manufacturer, label: label,
                                      flags: try Hex.decode(tokenFlags ?? "0780"))
        children = [
            FileNode(fid: Hex.encode(odfID), content: Hex.encode(odf), size: odf.count + 16),
            FileNode(fid: Hex.encode(tokenInfoID), content: Hex.encode(tokenInfo)),
            FileNode(fid: Hex.encode(dodfID), content: Hex.encode(dodf), size: dodf.count + 32),
        ] + children
        var application = FileNode(fid: Hex.encode(dfID), aid: Hex.encode(aidBytes), children: children)
        application.selectableByName = selectableByAID
        let ddo = pathsInDDO == true
            ? DER.discretionaryData(odfPath: PKCS15Path(path: [0x3F, 0x00] + dfID + odfID),
                                    tokenInfoPath: PKCS15Path(path: [0x3F, 0x00] + dfID + tokenInfoID))
            : []
        let record = DER.applicationTemplate(aid: aidBytes, label: label ?? "PKCS#15", path: [0x3F, 0x00] + dfID, ddo: ddo)
        return (application, Hex.encode(record))
    }
}
