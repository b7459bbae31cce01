import APDU
import CardTransport

/// A bootstrap document found through the DODF, with its bytes.
public struct BootstrapObject: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// An OMA DM bootstrap: oidDO 2.23.43.7.1, or a label the caller named.
        case dm
        /// An OMA Client Provisioning document (ProvSC: Bootstrap, Config1, Config2).
        case cp
    }

    public let kind: Kind
    public let label: String?
    public let applicationName: String?
    public let oid: String?
    /// Where the document lives; `nil` when the DODF carries it directly.
    public let path: PKCS15Path?
    public let content: [UInt8]

    public init(kind: Kind, label: String?, applicationName: String?, oid: String?, path: PKCS15Path?, content: [UInt8]) {
        self.kind = kind
        self.label = label
        self.applicationName = applicationName
        self.oid = oid
        self.path = path
        self.content = content
    }
}

/// A bootstrap object the DODF names but the card would not give (only CP
/// objects: a DM object the card refuses ends the read), or one whose value
/// dmboot does not read as document bytes (a URL, a protected value, a
/// private object), reported instead of read.
public struct UnreadableObject: Equatable, Sendable {
    public let kind: BootstrapObject.Kind
    public let label: String?
    /// Where its value lives; `nil` for a value at a URL or enveloped in the DODF.
    public let path: PKCS15Path?
    public let reason: String

    /// "at 3F00/5015/6001", or nothing when the value is not in an EF.
    public var place: String { path.map { " at \($0)" } ?? "" }
}

/// What the PKCS#15 application holds, as read from the card.
public struct PKCS15Contents: Equatable, Sendable {
    public let application: PKCS15Application
    public let objectDirectory: ObjectDirectory
    public let tokenInfo: TokenInfo
    public let dataObjects: [DataObjectEntry]
    public let bootstrapObjects: [BootstrapObject]
    public let unreadableObjects: [UnreadableObject]

    public init(application: PKCS15Application, objectDirectory: ObjectDirectory, tokenInfo: TokenInfo,
                dataObjects: [DataObjectEntry], bootstrapObjects: [BootstrapObject],
                unreadableObjects: [UnreadableObject] = []) {
        self.application = application
        self.objectDirectory = objectDirectory
        self.tokenInfo = tokenInfo
        self.dataObjects = dataObjects
        self.bootstrapObjects = bootstrapObjects
        self.unreadableObjects = unreadableObjects
    }

    /// The DM bootstraps, or the error that says the card has none.
    public func requireDMBootstrap() throws -> [BootstrapObject] {
        let found = bootstrapObjects.filter { $0.kind == .dm }
        guard !found.isEmpty else { throw PKCS15Error.noBootstrapObject }
        return found
    }
}

/// Walks ODF → TokenInfo → DODF(s) → the bootstrap EFs, over whatever
/// channel it is given (the SCP03 channel in the product). Every read goes
/// through one `TransparentFileReader`, so no EF is selected twice in a row.
public struct PKCS15Navigator {
    /// The OID OMA DM gives its bootstrap object (WAP arc 2.23.43, DM 7, bootstrap 1).
    public static let dmBootstrapOID = "2.23.43.7.1"
    /// Object labels OMA Provisioning Smart Card uses for CP documents.
    public static let clientProvisioningLabels = ["bootstrap", "config1", "config2"]
    static let odfPath = PKCS15Path(path: [0x50, 0x31])
    static let tokenInfoPath = PKCS15Path(path: [0x50, 0x32])

    public let application: PKCS15Application
    /// Extra labels that mark a DM bootstrap on cards that deviate from the
    /// OID (an explicit option, never the default).
    public var extraDMLabels: [String] = []

    public init(application: PKCS15Application) {
        self.application = application
    }

    /// Reads the directory files and, when `readingObjects`, every bootstrap
    /// object: from its EF, or from the DODF itself when its value is direct.
    public func read(over channel: CardChannel, chunkLength: Int, readingObjects: Bool = true) throws -> PKCS15Contents {
        let reader = TransparentFileReader(channel: channel, applicationPath: application.path, chunkLength: chunkLength)
        let directory = try ObjectDirectory(bytes: reader.read(application.odfPath ?? Self.odfPath))
        let tokenInfo = try TokenInfo(bytes: reader.read(application.tokenInfoPath ?? Self.tokenInfoPath))
        var objects: [DataObjectEntry] = []
        for (number, path) in directory.dataObjectDirectories.enumerated() {
            let name = directory.dataObjectDirectories.count == 1 ? "EF(DODF) \(path)" : "EF(DODF) #\(number + 1) \(path)"
            objects += try DataObjectEntry.parseDirectory(reader.read(path), file: name)
        }
        var bootstraps: [(Int, BootstrapObject)] = []
        var unreadable: [UnreadableObject] = []
        // Objects that share an EF are read one after the other, so the EF is
        // selected once; they are reported in DODF order all the same.
        let wanted = objects.enumerated().compactMap { position, entry -> (Int, DataObjectEntry, BootstrapObject.Kind)? in
            guard readingObjects, let kind = classify(entry), entry.value != nil else { return nil }
            return (position, entry, kind)
        }.sorted { Self.sortKey($0.1).lexicographicallyPrecedes(Self.sortKey($1.1)) }
        for (position, entry, kind) in wanted {
            if entry.isPrivate {
                var path: PKCS15Path?
                if case .path(let location)? = entry.value { path = location }
                unreadable.append(UnreadableObject(kind: kind, label: entry.label, path: path,
                                                   reason: "it is marked private (CommonObjectFlags): its value needs an authentication dmboot does not perform"))
                continue
            }
            switch entry.value {
            case .direct(let bytes)?:
                bootstraps.append((position, BootstrapObject(kind: kind, label: entry.label, applicationName: entry.applicationName,
                                                             oid: entry.oid, path: nil, content: bytes)))
            case .path(let path)?:
                do {
                    let content = try reader.read(path, document: true)
                    bootstraps.append((position, BootstrapObject(kind: kind, label: entry.label,
                                                                 applicationName: entry.applicationName,
                                                                 oid: entry.oid, path: path, content: content)))
                } catch let error where kind == .cp && (error is CardStatusError || error is PKCS15Error) {
                    unreadable.append(UnreadableObject(kind: kind, label: entry.label, path: path, reason: "\(error)"))
                }
            case .notRead(let reason)?:
                unreadable.append(UnreadableObject(kind: kind, label: entry.label, path: nil, reason: reason))
            case nil:
                continue
            }
        }
        return PKCS15Contents(application: application, objectDirectory: directory, tokenInfo: tokenInfo,
                              dataObjects: objects, bootstrapObjects: bootstraps.sorted { $0.0 < $1.0 }.map(\.1),
                              unreadableObjects: unreadable)
    }

    private static func sortKey(_ entry: DataObjectEntry) -> [UInt8] {
        if case .path(let path)? = entry.value { return path.path }
        return []
    }

    public func classify(_ entry: DataObjectEntry) -> BootstrapObject.Kind? {
        if entry.oid == Self.dmBootstrapOID { return .dm }
        let names = [entry.label, entry.applicationName].compactMap { $0?.lowercased() }
        if names.contains(where: { name in extraDMLabels.contains { $0.lowercased() == name } }) { return .dm }
        if names.contains(where: Self.clientProvisioningLabels.contains) { return .cp }
        return nil
    }
}
