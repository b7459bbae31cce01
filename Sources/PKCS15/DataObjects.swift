/// One entry of an EF(DODF): a data object with its common attributes and
/// where its value lives.
public struct DataObjectEntry: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case opaque, externalIDO = "external-ido", oid
    }

    public enum Value: Equatable, Sendable {
        /// The value is (a range of) an EF.
        case path(PKCS15Path)
        /// The value is inside the DODF itself.
        case direct([UInt8])
        /// A value dmboot does not read, and says why: a URL (ReferencedValue
        /// url, PKCS#15 v1.1 6.7) or a protected one (indirect-protected [1],
        /// direct-protected [2]: enveloped, not the document's bytes).
        case notRead(String)
    }

    public let kind: Kind
    public let label: String?
    public let applicationName: String?
    public let applicationOID: String?
    /// The object's identifier, for an oidDO.
    public let oid: String?
    public let value: Value?
    /// CommonObjectFlags' `private` bit (PKCS#15 v1.1 6.2): reading the
    /// value needs the authentication its authId names, which dmboot does not do.
    public let isPrivate: Bool
    /// Where the entry starts in its DODF.
    public let offset: Int

    public init(kind: Kind, label: String?, applicationName: String?, applicationOID: String?, oid: String?,
                value: Value?, isPrivate: Bool = false, offset: Int) {
        self.kind = kind
        self.label = label
        self.applicationName = applicationName
        self.applicationOID = applicationOID
        self.oid = oid
        self.value = value
        self.isPrivate = isPrivate
        self.offset = offset
    }

    /// Every entry of a DODF, in order.
    public static func parseDirectory(_ bytes: [UInt8], file: String) throws -> [DataObjectEntry] {
        var reader = BERReader(bytes, file: file)
        var entries: [DataObjectEntry] = []
        while let element = try reader.next() {
            let kind: Kind
            switch element.tag {
            case 0x30: kind = .opaque
            case 0xA0: kind = .externalIDO
            case 0xA1: kind = .oid
            default:
                throw PKCS15Error.unexpectedTag(file: file, offset: element.offset,
                                                expected: "a data object (30, A0 or A1)", found: element.tag)
            }
            entries.append(try parseObject(element, kind: kind, reader: reader))
        }
        return entries
    }

    private static func parseObject(_ element: BERElement, kind: Kind, reader: BERReader) throws -> DataObjectEntry {
        var inner = try reader.children(of: element)
        let common = try inner.expect(0x30, "CommonObjectAttributes")
        var commonReader = try inner.children(of: common)
        let label = try commonReader.optional(0x0C).map { try Text.utf8($0, reader: commonReader) }
        // BIT STRING: the unused-bits byte, then bit 0 (private) as the first byte's top bit.
        let flags = Array(try commonReader.optional(0x03)?.value ?? [])
        let isPrivate = flags.count >= 2 && flags[1] & 0x80 != 0
        let classAttributes = try inner.expect(0x30, "CommonDataObjectAttributes")
        var classReader = try inner.children(of: classAttributes)
        let applicationName = try classReader.optional(0x0C).map { try Text.utf8($0, reader: classReader) }
        let applicationOID = try classReader.optional(0x06).map { try ObjectIdentifier.decode($0, reader: classReader) }
        _ = try inner.optional(0xA0)
        let typeAttributes = try inner.expect(0xA1, "typeAttributes [1]")
        var typeReader = try inner.children(of: typeAttributes)
        var oid: String?
        var value: Value?
        switch kind {
        case .oid:
            // PKCS#15 is written with IMPLICIT TAGS, so [1] replaces the OidDO
            // SEQUENCE tag; some cards keep the SEQUENCE inside. Both are read.
            var body = typeReader
            if let sequence = try typeReader.optional(0x30) { body = try typeReader.children(of: sequence) }
            oid = try ObjectIdentifier.decode(try body.expect(0x06, "the oidDO's OBJECT IDENTIFIER"), reader: body)
            value = try parseValue(&body)
        case .opaque, .externalIDO:
            value = try parseValue(&typeReader)
        }
        return DataObjectEntry(kind: kind, label: label, applicationName: applicationName,
                               applicationOID: applicationOID, oid: oid, value: value, isPrivate: isPrivate,
                               offset: element.offset)
    }

    /// `ObjectValue ::= CHOICE { indirect ReferencedValue, direct [0] ...,
    /// indirect-protected [1], direct-protected [2] }`, and `ReferencedValue
    /// ::= CHOICE { path Path, url URL }`, URL being a PrintableString (or
    /// IA5String, UTF8String) or `urlWithDigest [3]`.
    private static func parseValue(_ reader: inout BERReader) throws -> Value? {
        guard let element = try reader.next() else { return nil }
        switch element.tag {
        case 0x30: return .path(try PKCS15Path(element: element, reader: reader))
        case 0x13, 0x16, 0x0C:
            // Untrusted text bound for a terminal: printable ASCII only.
            let url = String(element.value.prefix(80).map { (0x20...0x7E).contains($0) ? Character(Unicode.Scalar($0)) : "?" })
            return .notRead("its value is at a URL (\(url))")
        case 0xA3: return .notRead("its value is at a URL with a digest")
        case 0xA1: return .notRead("its value is indirect-protected [1] (enveloped)")
        case 0xA2: return .notRead("its value is direct-protected [2] (enveloped)")
        case 0xA0:
            var inner = try reader.children(of: element)
            return .direct(try inner.next()?.bytes ?? [])
        case 0x80, 0x04: return .direct(element.bytes)
        default: return .direct(Array(element.value))
        }
    }
}

/// OBJECT IDENTIFIER values in dotted form.
public enum ObjectIdentifier {
    static func decode(_ element: BERElement, reader: BERReader) throws -> String {
        guard let text = dotted(element.bytes) else {
            throw PKCS15Error.invalidValue(file: reader.file, offset: element.offset, reason: "malformed OBJECT IDENTIFIER")
        }
        return text
    }

    public static func dotted(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.last! & 0x80 == 0 else { return nil }
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in bytes {
            guard value <= UInt64.max >> 7 else { return nil }
            value = value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
            }
        }
        let first = arcs.removeFirst()
        let head: [UInt64] = first < 80 ? [first / 40, first % 40] : [2, first - 80]
        return (head + arcs).map(String.init).joined(separator: ".")
    }

    public static func encode(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").compactMap { UInt64($0) }
        guard arcs.count >= 2 else { return [] }
        var bytes: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(arc & 0x7F)]
            var rest = arc >> 7
            while rest > 0 {
                chunk.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
                rest >>= 7
            }
            bytes += chunk
        }
        return bytes
    }
}
