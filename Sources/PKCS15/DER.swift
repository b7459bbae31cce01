/// DER encoding of the PKCS#15 structures, for building card images (the
/// virtual card's profiles, test fixtures). The decoders never use it.
public enum DER {
    public static func tlv(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] {
        [tag] + length(value.count) + value
    }

    static func length(_ count: Int) -> [UInt8] {
        switch count {
        case ..<0x80: return [UInt8(count)]
        case ..<0x100: return [0x81, UInt8(count)]
        case ..<0x10000: return [0x82, UInt8(count >> 8), UInt8(count & 0xFF)]
        default: return [0x83, UInt8(count >> 16), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
        }
    }

    public static func integer(_ value: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        } while rest > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return bytes
    }

    public static func utf8(_ text: String) -> [UInt8] { tlv(0x0C, Array(text.utf8)) }

    public static func path(_ path: PKCS15Path) -> [UInt8] {
        var body = tlv(0x04, path.path)
        if let index = path.index { body += tlv(0x02, integer(index)) }
        if let length = path.length { body += tlv(0x80, integer(length)) }
        return tlv(0x30, body)
    }

    /// TokenInfo; an empty serial is left out (ISO/IEC 7816-15 makes it
    /// optional), and `flags` is the TokenFlags BIT STRING content.
    public static func tokenInfo(serialNumber: [UInt8], manufacturer: String?, label: String?,
                                 flags: [UInt8] = [0x07, 0x80]) -> [UInt8] {
        var body = tlv(0x02, [0x00]) + (serialNumber.isEmpty ? [] : tlv(0x04, serialNumber))
        if let manufacturer { body += utf8(manufacturer) }
        if let label { body += tlv(0x80, Array(label.utf8)) }
        body += tlv(0x03, flags)
        return tlv(0x30, body)
    }

    public static func objectDirectory(_ entries: [(ObjectDirectory.Kind, PKCS15Path)]) -> [UInt8] {
        entries.flatMap { tlv(UInt8($0.0.rawValue), path($0.1)) }
    }

    /// An oidDO entry, typeAttributes in the IMPLICIT form PKCS#15 defines.
    public static func oidDataObject(label: String, applicationName: String?, oid: String, path: PKCS15Path) -> [UInt8] {
        let common = tlv(0x30, utf8(label) + tlv(0x03, [0x06, 0x40]))
        let classAttributes = tlv(0x30, applicationName.map(utf8) ?? [])
        let type = tlv(0xA1, tlv(0x06, ObjectIdentifier.encode(oid)) + DER.path(path))
        return tlv(0xA1, common + classAttributes + type)
    }

    /// An opaqueDO entry whose value is an EF.
    public static func opaqueDataObject(label: String, applicationName: String?, path: PKCS15Path) -> [UInt8] {
        let common = tlv(0x30, utf8(label))
        let classAttributes = tlv(0x30, applicationName.map(utf8) ?? [])
        return tlv(0x30, common + classAttributes + tlv(0xA1, DER.path(path)))
    }

    /// An EF(DIR) application template.
    public static func applicationTemplate(aid: [UInt8], label: String, path: [UInt8], ddo: [UInt8] = []) -> [UInt8] {
        tlv(0x61, tlv(0x4F, aid) + tlv(0x50, Array(label.utf8)) + tlv(0x51, path) + ddo)
    }

    /// EF(DIR)'s discretionary data (73): the PKCS#15 DDO with the ODF path
    /// and, IMPLICIT [0], the TokenInfo path (PKCS#15 v1.1 5.4.2).
    public static func discretionaryData(odfPath: PKCS15Path, tokenInfoPath: PKCS15Path) -> [UInt8] {
        let pkcs15OID = ObjectIdentifier.encode("1.2.840.113549.1.15.1")
        let tokenInfo = path(tokenInfoPath)
        return tlv(0x73, tlv(0x06, pkcs15OID) + path(odfPath) + [0xA0] + Array(tokenInfo.dropFirst()))
    }
}
