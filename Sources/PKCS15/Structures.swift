/// PKCS#15 v1.1 / ISO/IEC 7816-15 structures that lead to the bootstrap.

/// `Path ::= SEQUENCE { path OCTET STRING, index INTEGER OPTIONAL, length [0] INTEGER OPTIONAL }`.
/// A path that starts with 3F00 is absolute; any other is relative to the
/// application DF. Index and length pick a byte range of a transparent EF.
public struct PKCS15Path: Equatable, Sendable, CustomStringConvertible {
    public let path: [UInt8]
    public let index: Int?
    public let length: Int?

    public init(path: [UInt8], index: Int? = nil, length: Int? = nil) {
        self.path = path
        self.index = index
        self.length = length
    }

    public var isAbsolute: Bool { path.count >= 2 && path[0] == 0x3F && path[1] == 0x00 }

    public var description: String {
        var text = stride(from: 0, to: path.count, by: 2).map { offset in
            path[offset..<min(offset + 2, path.count)].map { String($0, radix: 16, uppercase: true).leftPadded(2) }
                .joined()
        }.joined(separator: "/")
        if let index { text += " offset \(index)" }
        if let length { text += " length \(length)" }
        return text
    }

    init(element: BERElement, reader: BERReader) throws {
        var inner = try reader.children(of: element)
        let path = try inner.expect(0x04, "the path OCTET STRING")
        guard path.value.count >= 2, path.value.count % 2 == 0 else {
            throw PKCS15Error.invalidValue(file: reader.file, offset: path.offset,
                                           reason: "a path is a whole number of 2-byte file ids; got \(path.value.count) bytes")
        }
        self.path = path.bytes
        index = try inner.optional(0x02).map { try Self.integer($0, reader: reader, what: "index") }
        length = try inner.optional(0x80).map { try Self.integer($0, reader: reader, what: "length") }
        if let extra = try inner.next() {
            throw PKCS15Error.unexpectedTag(file: reader.file, offset: extra.offset, expected: "the end of Path", found: extra.tag)
        }
    }

    /// A non-negative INTEGER that fits an offset on a card.
    static func integer(_ element: BERElement, reader: BERReader, what: String) throws -> Int {
        guard !element.value.isEmpty, element.value.count <= 4, element.value.first! & 0x80 == 0 else {
            throw PKCS15Error.invalidValue(file: reader.file, offset: element.offset,
                                           reason: "\(what) is not a non-negative INTEGER of at most 4 bytes")
        }
        return element.value.reduce(0) { $0 << 8 | Int($1) }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// One application template of EF(DIR): `61 { 4F AID, 50 label, 51 path, 73 ddo }`.
public struct DirectoryEntry: Equatable, Sendable {
    public let applicationID: [UInt8]
    public let label: String?
    public let path: [UInt8]?
    /// From the discretionary data objects (73): `DDO ::= SEQUENCE { oid,
    /// odfPath Path OPTIONAL, tokenInfoPath [0] Path OPTIONAL, unusedPath [1]
    /// Path OPTIONAL }` (PKCS#15 v1.1 5.4.2; OpenSC pkcs15.c c_asn1_ddo).
    public let odfPath: PKCS15Path?
    public let tokenInfoPath: PKCS15Path?

    public init(applicationID: [UInt8], label: String?, path: [UInt8]?, odfPath: PKCS15Path? = nil,
                tokenInfoPath: PKCS15Path? = nil) {
        self.applicationID = applicationID
        self.label = label
        self.path = path
        self.odfPath = odfPath
        self.tokenInfoPath = tokenInfoPath
    }

    public static func parse(record: [UInt8], number: Int) throws -> DirectoryEntry? {
        var reader = BERReader(record, file: "EF(DIR) record \(number)")
        guard let template = try reader.next() else { return nil }
        return try parse(template: template, reader: reader)
    }

    /// A transparent EF(DIR): the application templates one after the other,
    /// then padding (OpenSC dir.c reads it the same way).
    public static func parse(transparent bytes: [UInt8]) throws -> [DirectoryEntry] {
        var reader = BERReader(bytes, file: "EF(DIR)")
        var entries: [DirectoryEntry] = []
        while let template = try reader.next() {
            if let entry = try parse(template: template, reader: reader) { entries.append(entry) }
        }
        return entries
    }

    private static func parse(template: BERElement, reader: BERReader) throws -> DirectoryEntry? {
        guard template.tag == 0x61 else {
            throw PKCS15Error.unexpectedTag(file: reader.file, offset: template.offset,
                                            expected: "an application template (61)", found: template.tag)
        }
        var inner = try reader.children(of: template)
        var aid: [UInt8]?
        var label: String?
        var path: [UInt8]?
        var odfPath: PKCS15Path?
        var tokenInfoPath: PKCS15Path?
        while let element = try inner.next() {
            switch element.tag {
            case 0x4F: aid = element.bytes
            case 0x50: label = String(decoding: element.value, as: UTF8.self)
            case 0x51: path = element.bytes
            case 0x73:
                var ddo = try inner.children(of: element)
                _ = try ddo.optional(0x06)
                if let odf = try ddo.optional(0x30) { odfPath = try PKCS15Path(element: odf, reader: ddo) }
                if let tokenInfo = try ddo.optional(0xA0) {
                    // IMPLICIT TAGS make [0] replace the Path SEQUENCE; a
                    // SEQUENCE kept inside (explicit tagging) is read too.
                    var body = try ddo.children(of: tokenInfo)
                    if let explicit = try body.optional(0x30) {
                        tokenInfoPath = try PKCS15Path(element: explicit, reader: body)
                    } else {
                        tokenInfoPath = try PKCS15Path(element: tokenInfo, reader: ddo)
                    }
                }
            default: continue
            }
        }
        guard let aid else { return nil }
        return DirectoryEntry(applicationID: aid, label: label, path: path, odfPath: odfPath, tokenInfoPath: tokenInfoPath)
    }
}

/// EF(ODF): which directory files the application has, and where.
public struct ObjectDirectory: Equatable, Sendable {
    public enum Kind: UInt32, Sendable, CaseIterable {
        case privateKeys = 0xA0, publicKeys = 0xA1, trustedPublicKeys = 0xA2, secretKeys = 0xA3
        case certificates = 0xA4, trustedCertificates = 0xA5, usefulCertificates = 0xA6
        case dataObjects = 0xA7, authObjects = 0xA8

        public var name: String {
            switch self {
            case .privateKeys: return "PrKDF"
            case .publicKeys: return "PuKDF"
            case .trustedPublicKeys: return "PuKDF (trusted)"
            case .secretKeys: return "SKDF"
            case .certificates: return "CDF"
            case .trustedCertificates: return "CDF (trusted)"
            case .usefulCertificates: return "CDF (useful)"
            case .dataObjects: return "DODF"
            case .authObjects: return "AODF"
            }
        }
    }

    public struct Entry: Equatable, Sendable {
        public let kind: Kind
        public let path: PKCS15Path
    }

    public let entries: [Entry]

    public var dataObjectDirectories: [PKCS15Path] { entries.filter { $0.kind == .dataObjects }.map(\.path) }

    public init(bytes: [UInt8]) throws {
        var reader = BERReader(bytes, file: "EF(ODF)")
        var entries: [Entry] = []
        while let element = try reader.next() {
            guard let kind = Kind(rawValue: element.tag) else {
                // Later ISO/IEC 7816-15 choices ([9] and above) are skipped, not rejected.
                guard element.tag & 0xE0 == 0xA0 else {
                    throw PKCS15Error.unexpectedTag(file: reader.file, offset: element.offset,
                                                    expected: "an ODF choice (A0-A8)", found: element.tag)
                }
                continue
            }
            var inner = try reader.children(of: element)
            let path = try inner.expect(0x30, "a Path (indirect directory file)")
            entries.append(Entry(kind: kind, path: try PKCS15Path(element: path, reader: inner)))
        }
        self.entries = entries
    }
}

/// EF(TokenInfo): the card's identity as PKCS#15 gives it.
public struct TokenInfo: Equatable, Sendable {
    public let version: Int
    public let serialNumber: [UInt8]
    public let manufacturer: String?
    public let label: String?

    public init(bytes: [UInt8]) throws {
        var reader = BERReader(bytes, file: "EF(TokenInfo)")
        let sequence = try reader.expect(0x30, "the TokenInfo SEQUENCE")
        var inner = try reader.children(of: sequence)
        version = try PKCS15Path.integer(try inner.expect(0x02, "version INTEGER"), reader: inner, what: "version")
        // ISO/IEC 7816-15 makes the serial OPTIONAL; cards of one batch may
        // also share one. Card identity therefore prefers EF.ICCID.
        serialNumber = try inner.optional(0x04)?.bytes ?? []
        manufacturer = try inner.optional(0x0C).map { try Text.utf8($0, reader: inner) }
        label = try inner.optional(0x80).map { try Text.utf8($0, reader: inner) }
    }

    /// The serial number as printed on reports: hex.
    public var serialHex: String { serialNumber.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined() }
}

enum Text {
    static func utf8(_ element: BERElement, reader: BERReader) throws -> String {
        guard let text = String(validating: element.value, as: UTF8.self) else {
            throw PKCS15Error.invalidValue(file: reader.file, offset: element.offset, reason: "a label is not valid UTF-8")
        }
        return text
    }
}
