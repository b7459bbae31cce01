import APDU
import PKCS15

/// What a SELECT tells about a file: the FCP (62), FMD (64) or FCI (6F)
/// template of ISO/IEC 7816-4 section 5.3.3 as ETSI TS 102 221 section
/// 11.1.1.3 profiles it for a UICC.
public struct FileControlParameters: Equatable, Sendable {
    public enum Structure: Equatable, Sendable {
        case dedicatedFile
        case transparent
        case linearFixed(recordLength: Int, records: Int)
        case linearVariable
        case cyclic(recordLength: Int, records: Int)
        case other(UInt8)
    }

    public let template: UInt8
    public var size: Int?
    public var totalSize: Int?
    public var descriptor: UInt8?
    public var structure: Structure?
    public var fileID: UInt16?
    public var dfName: [UInt8]?
    /// nil when tag 88 is absent; 0 when present and empty (the EF has no SFI).
    public var shortFileID: Int?
    public var lifeCycle: UInt8?
    public var otherTags: [UInt32] = []

    public init(bytes: [UInt8]) throws {
        var reader = BERReader(bytes, file: "FCP")
        guard let outer = try reader.next() else {
            throw PKCS15Error.truncated(file: "FCP", offset: 0, needed: 2, available: 0)
        }
        guard [0x62, 0x64, 0x6F].contains(outer.tag) else {
            throw PKCS15Error.unexpectedTag(file: "FCP", offset: 0, expected: "an FCP (62), FMD (64) or FCI (6F) template",
                                            found: outer.tag)
        }
        template = UInt8(outer.tag)
        var inner = try reader.children(of: outer)
        while let element = try inner.next() {
            let value = element.bytes
            switch element.tag {
            case 0x80 where !value.isEmpty && value.count <= 4: size = value.reduce(0) { $0 << 8 | Int($1) }
            case 0x81 where !value.isEmpty && value.count <= 4: totalSize = value.reduce(0) { $0 << 8 | Int($1) }
            case 0x82 where !value.isEmpty:
                descriptor = value[0]
                structure = Self.structure(value)
            case 0x83 where value.count == 2: fileID = UInt16(value[0]) << 8 | UInt16(value[1])
            case 0x84: dfName = value
            case 0x88: shortFileID = value.first.map { Int($0 >> 3) } ?? 0
            case 0x8A where value.count == 1: lifeCycle = value[0]
            default: otherTags.append(element.tag)
            }
        }
    }

    /// ISO/IEC 7816-4 table 12 (file descriptor byte) with the record
    /// length and count TS 102 221 table 11.5 appends for record EFs.
    static func structure(_ value: [UInt8]) -> Structure {
        let descriptor = value[0]
        if descriptor & 0xBF == 0x38 { return .dedicatedFile }
        let recordLength = value.count >= 4 ? value[2...].prefix(value.count == 4 ? 1 : 2).reduce(0) { $0 << 8 | Int($1) } : 0
        let records = value.count >= 5 ? Int(value[value.count - 1]) : 0
        switch descriptor & 0x07 {
        case 0x01: return .transparent
        case 0x02, 0x03: return .linearFixed(recordLength: recordLength, records: records)
        case 0x04, 0x05: return .linearVariable
        case 0x06, 0x07: return .cyclic(recordLength: recordLength, records: records)
        default: return .other(descriptor)
        }
    }

    public var isDedicatedFile: Bool { structure == .dedicatedFile }

    /// One line: "EF 2FE2 transparent, 10 bytes, operational (activated)".
    public var summary: String {
        var parts: [String] = []
        let id = fileID.map { " " + Hex.encode([UInt8($0 >> 8), UInt8($0 & 0xFF)]) } ?? ""
        switch structure {
        case .dedicatedFile?: parts.append("DF\(id)")
        case .transparent?: parts.append("EF\(id) transparent")
        case .linearFixed(let length, let count)?: parts.append("EF\(id) linear fixed, \(count) records of \(length) bytes")
        case .linearVariable?: parts.append("EF\(id) linear variable")
        case .cyclic(let length, let count)?: parts.append("EF\(id) cyclic, \(count) records of \(length) bytes")
        case .other(let byte)?: parts.append("file\(id) descriptor \(Hex.encode([byte]))")
        case nil: parts.append("file\(id)")
        }
        if let size, structure == .transparent { parts.append("\(size) bytes") }
        if let dfName { parts.append("name \(Hex.encode(dfName))") }
        if let lifeCycle { parts.append(Self.lifeCycleText(lifeCycle)) }
        return parts.joined(separator: ", ")
    }

    /// Every field, one per line, for `decode`.
    public var lines: [String] {
        let kind = template == 0x62 ? "FCP" : template == 0x64 ? "FMD" : "FCI"
        var lines = ["\(kind) template: \(summary)"]
        if let descriptor {
            let shareable = descriptor & 0x40 != 0 ? "shareable" : "not shareable"
            lines.append("  82 file descriptor \(Hex.encode([descriptor])): \(shareable)")
        }
        if let fileID { lines.append("  83 file identifier \(Hex.encode([UInt8(fileID >> 8), UInt8(fileID & 0xFF)]))") }
        if let dfName { lines.append("  84 DF name \(Hex.encode(dfName))") }
        if let size { lines.append("  80 file size \(size) bytes") }
        if let totalSize { lines.append("  81 total file size \(totalSize) bytes") }
        if let shortFileID { lines.append("  88 short EF identifier \(shortFileID == 0 ? "none" : String(shortFileID))") }
        if let lifeCycle { lines.append("  8A life cycle status \(Hex.encode([lifeCycle])): \(Self.lifeCycleText(lifeCycle))") }
        for tag in otherTags {
            lines.append("  \(String(tag, radix: 16, uppercase: true)) \(Self.otherTagNames[tag] ?? "(not interpreted)")")
        }
        return lines
    }

    /// Tags of ISO/IEC 7816-4 table 12 and TS 102 221 table 11.3 this type shows by name only.
    static let otherTagNames: [UInt32: String] = [
        0x85: "proprietary information", 0xA5: "proprietary information", 0x86: "security attributes (proprietary)",
        0x8B: "security attributes (referenced)", 0x8C: "security attributes (compact)",
        0xAB: "security attributes (expanded)", 0xC6: "PIN status template", 0x87: "EF with FCI extension",
    ]

    /// ISO/IEC 7816-4 table 13, life cycle status byte.
    public static func lifeCycleText(_ byte: UInt8) -> String {
        switch byte {
        case 0x00: return "no information given"
        case 0x01: return "creation state"
        case 0x03: return "initialisation state"
        case 0x05, 0x07: return "operational (activated)"
        case 0x04, 0x06: return "operational (deactivated)"
        case 0x0C...0x0F: return "termination state"
        default: return "proprietary life cycle \(Hex.encode([byte]))"
        }
    }
}
