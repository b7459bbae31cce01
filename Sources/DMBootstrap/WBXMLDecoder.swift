/// Decodes WBXML (WAP-192, versions 1.1 to 1.3) into an `Element` tree for
/// the document types of `WBXMLLanguage`. Every count and offset is checked
/// against what is left; extension tokens are refused, not skipped.
public struct WBXMLDecoder {
    public static let maxDepth = DecodingLimits.maxDepth

    public init() {}

    public func decode(_ bytes: [UInt8]) throws -> Document {
        guard bytes.count <= DecodingLimits.maxBytes else {
            throw WBXMLError.tooLarge(bytes: bytes.count, limit: DecodingLimits.maxBytes)
        }
        var cursor = Cursor(bytes: bytes)
        let version = try cursor.byte()
        guard (0x01...0x03).contains(version) else { throw WBXMLError.unsupportedVersion(version) }
        let publicID = try cursor.multiByte()
        var publicIDIndex: UInt32?
        if publicID == 0 { publicIDIndex = try cursor.multiByte() }
        let charset = try cursor.multiByte()
        guard [0, 3, 4, 106].contains(charset) else { throw WBXMLError.unsupportedCharset(charset) }
        let tableLength = Int(try cursor.multiByte())
        let table = try cursor.take(tableLength)
        var state = State(cursor: cursor, stringTable: table, latin1: charset == 4, language: nil)
        var publicName: String?
        if let index = publicIDIndex {
            publicName = try state.tableString(at: index)
            guard let language = WBXMLLanguage.forPublicID(publicName!) else {
                throw WBXMLError.unknownPublicID(publicName!)
            }
            state.language = language
        } else {
            guard let language = WBXMLLanguage.forPublicID(publicID) else {
                throw WBXMLError.unknownPublicID("0x" + String(publicID, radix: 16, uppercase: true))
            }
            state.language = language
            publicName = "0x" + String(publicID, radix: 16, uppercase: true)
        }
        try state.skipProcessingInstructions()
        let root = try state.element(depth: 0)
        try state.skipProcessingInstructions()
        guard state.cursor.isAtEnd else { throw WBXMLError.trailingData(offset: state.cursor.offset) }
        return Document(root: root, publicID: publicName)
    }

    struct Cursor {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw WBXMLError.truncated(offset: offset) }
            defer { offset += 1 }
            return bytes[offset]
        }

        func peek() throws -> UInt8 {
            guard offset < bytes.count else { throw WBXMLError.truncated(offset: offset) }
            return bytes[offset]
        }

        /// mb_u_int32: 7 bits a byte, high bit set on all but the last; at most 5 bytes.
        mutating func multiByte() throws -> UInt32 {
            let start = offset
            var value: UInt64 = 0
            for _ in 0..<5 {
                let next = try byte()
                value = value << 7 | UInt64(next & 0x7F)
                if next & 0x80 == 0 {
                    guard value <= UInt64(UInt32.max) else { throw WBXMLError.invalidMultiByteInteger(offset: start) }
                    return UInt32(value)
                }
            }
            throw WBXMLError.invalidMultiByteInteger(offset: start)
        }

        mutating func take(_ count: Int) throws -> [UInt8] {
            guard count >= 0, count <= bytes.count - offset else {
                throw WBXMLError.lengthBeyondEnd(offset: offset, length: count, available: bytes.count - offset)
            }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        /// An inline string: bytes up to the terminating 00.
        mutating func terminatedString() throws -> [UInt8] {
            let start = offset
            guard let end = bytes[offset...].firstIndex(of: 0) else { throw WBXMLError.unterminatedString(offset: start) }
            defer { offset = end + 1 }
            return Array(bytes[offset..<end])
        }
    }

    struct State {
        var cursor: Cursor
        let stringTable: [UInt8]
        let latin1: Bool
        var language: WBXMLLanguage!
        var tagPage: UInt8 = 0
        var attributePage: UInt8 = 0
        var elements = 0
        var referencedBytes = 0

        func text(_ bytes: [UInt8], at offset: Int) throws -> String {
            if latin1 { return String(bytes.map { Character(Unicode.Scalar($0)) }) }
            guard let text = String(validating: bytes, as: UTF8.self) else { throw WBXMLError.invalidUTF8(offset: offset) }
            return text
        }

        /// A string-table entry. References can repeat one long entry, so
        /// what they produce together is limited, not just the input.
        mutating func tableString(at index: UInt32) throws -> String {
            let start = Int(index)
            guard start < stringTable.count, let end = stringTable[start...].firstIndex(of: 0) else {
                throw WBXMLError.stringTableOffsetOutOfRange(index: index, tableLength: stringTable.count)
            }
            referencedBytes += end - start
            guard referencedBytes <= DecodingLimits.maxBytes else {
                throw WBXMLError.tooMuchReferencedText(offset: cursor.offset, limit: DecodingLimits.maxBytes)
            }
            return try text(Array(stringTable[start..<end]), at: start)
        }

        mutating func skipProcessingInstructions() throws {
            while !cursor.isAtEnd, try cursor.peek() == 0x43 {
                _ = try cursor.byte()
                _ = try attributes()
            }
        }

        mutating func switchPage(attribute: Bool) throws {
            let page = try cursor.byte()
            if attribute { attributePage = page } else { tagPage = page }
        }

        mutating func element(depth: Int) throws -> Element {
            guard depth < WBXMLDecoder.maxDepth else { throw WBXMLError.tooDeep(offset: cursor.offset) }
            elements += 1
            guard elements <= DecodingLimits.maxElements else {
                throw WBXMLError.tooManyElements(offset: cursor.offset, limit: DecodingLimits.maxElements)
            }
            var token = try cursor.byte()
            while token == 0x00 {
                try switchPage(attribute: false)
                token = try cursor.byte()
            }
            let offset = cursor.offset - 1
            let identity = token & 0x3F
            let name: String
            switch identity {
            case 0x04:
                name = try tableString(at: try cursor.multiByte())
            case 0x00...0x03:
                throw WBXMLError.unexpectedToken(token, offset: offset, context: "where an element starts")
            default:
                if [0x40, 0x41, 0x42, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2, 0x43, 0x83, 0xC3].contains(token) {
                    throw WBXMLError.unexpectedToken(token, offset: offset, context: "where an element starts")
                }
                guard let known = language.tags[tagPage]?[identity] else {
                    throw WBXMLError.unknownTag(page: tagPage, token: identity, offset: offset)
                }
                name = known
            }
            var element = Element(name: name)
            if token & 0x80 != 0 { element.attributes = try attributes() }
            if token & 0x40 != 0 { element.content = try content(depth: depth) }
            return element
        }

        mutating func content(depth: Int) throws -> [Element.Content] {
            var content: [Element.Content] = []
            while true {
                let offset = cursor.offset
                let token = try cursor.peek()
                switch token {
                case 0x01:
                    _ = try cursor.byte()
                    return content
                case 0x00:
                    _ = try cursor.byte()
                    try switchPage(attribute: false)
                case 0x02:
                    _ = try cursor.byte()
                    content.append(.text(try entity(at: offset)))
                case 0x03:
                    _ = try cursor.byte()
                    content.append(.text(try text(try cursor.terminatedString(), at: offset)))
                case 0x83:
                    _ = try cursor.byte()
                    content.append(.text(try tableString(at: try cursor.multiByte())))
                case 0xC3:
                    _ = try cursor.byte()
                    let length = Int(try cursor.multiByte())
                    content.append(.opaque(try cursor.take(length)))
                case 0x43:
                    _ = try cursor.byte()
                    _ = try attributes()
                case 0x40, 0x41, 0x42, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2:
                    throw WBXMLError.extensionToken(token, offset: offset)
                default:
                    content.append(.element(try element(depth: depth + 1)))
                }
            }
        }

        mutating func entity(at offset: Int) throws -> String {
            let code = try cursor.multiByte()
            guard let scalar = Unicode.Scalar(code) else { throw WBXMLError.invalidEntity(code, offset: offset) }
            return String(Character(scalar))
        }

        /// An attribute list up to its END: starts (< 80) open an attribute,
        /// value tokens (>= 80) and strings extend its value.
        mutating func attributes() throws -> [String: String] {
            var attributes: [String: String] = [:]
            var current: (name: String, value: String)?
            func finish() {
                if let current { attributes[current.name] = current.value }
            }
            while true {
                let offset = cursor.offset
                let token = try cursor.byte()
                switch token {
                case 0x01:
                    finish()
                    return attributes
                case 0x00:
                    try switchPage(attribute: true)
                case 0x02:
                    current?.value += try entity(at: offset)
                case 0x03:
                    current?.value += try text(try cursor.terminatedString(), at: offset)
                case 0x83:
                    current?.value += try tableString(at: try cursor.multiByte())
                case 0xC3:
                    let length = Int(try cursor.multiByte())
                    current?.value += try text(try cursor.take(length), at: offset)
                case 0x04:
                    finish()
                    current = (try tableString(at: try cursor.multiByte()), "")
                case 0x40, 0x41, 0x42, 0x80, 0x81, 0x82, 0xC0, 0xC1, 0xC2:
                    throw WBXMLError.extensionToken(token, offset: offset)
                case ..<0x80:
                    guard let start = language.attributeStarts[attributePage]?[token] else {
                        throw WBXMLError.unknownAttribute(page: attributePage, token: token, offset: offset)
                    }
                    finish()
                    current = start
                default:
                    guard let value = language.attributeValues[attributePage]?[token] else {
                        throw WBXMLError.unknownAttribute(page: attributePage, token: token, offset: offset)
                    }
                    guard current != nil else {
                        throw WBXMLError.unexpectedToken(token, offset: offset, context: "before any attribute name")
                    }
                    current?.value += value
                }
            }
        }
    }
}

public enum WBXMLError: Error, Equatable, CustomStringConvertible {
    case unsupportedVersion(UInt8)
    case unknownPublicID(String)
    case unsupportedCharset(UInt32)
    case truncated(offset: Int)
    case invalidMultiByteInteger(offset: Int)
    case lengthBeyondEnd(offset: Int, length: Int, available: Int)
    case unterminatedString(offset: Int)
    case stringTableOffsetOutOfRange(index: UInt32, tableLength: Int)
    case unknownTag(page: UInt8, token: UInt8, offset: Int)
    case unknownAttribute(page: UInt8, token: UInt8, offset: Int)
    case extensionToken(UInt8, offset: Int)
    case unexpectedToken(UInt8, offset: Int, context: String)
    case invalidEntity(UInt32, offset: Int)
    case invalidUTF8(offset: Int)
    case tooDeep(offset: Int)
    case trailingData(offset: Int)
    case tooLarge(bytes: Int, limit: Int)
    case tooManyElements(offset: Int, limit: Int)
    case tooMuchReferencedText(offset: Int, limit: Int)

    public var description: String {
        func hex(_ value: UInt8) -> String { String(value, radix: 16, uppercase: true).count == 1 ? "0" + String(value, radix: 16, uppercase: true) : String(value, radix: 16, uppercase: true) }
        switch self {
        case .unsupportedVersion(let version):
            return "WBXML version byte \(hex(version)) is not 1.1, 1.2 or 1.3 (01-03)"
        case .unknownPublicID(let id):
            return "WBXML public identifier \(id) is not SyncML 1.1/1.2, DM DDF 1.2 (TNDS) or PROV 1.0"
        case .unsupportedCharset(let mib):
            return "WBXML charset MIBenum \(mib) is not UTF-8 (106), ISO-8859-1 (4) or US-ASCII (3)"
        case .truncated(let offset):
            return "WBXML ends early at offset \(offset) (truncated)"
        case .invalidMultiByteInteger(let offset):
            return "WBXML multi-byte integer at offset \(offset) is longer than 32 bits"
        case .lengthBeyondEnd(let offset, let length, let available):
            return "WBXML at offset \(offset) announces \(length) bytes but only \(available) remain"
        case .unterminatedString(let offset):
            return "WBXML inline string at offset \(offset) has no terminating 00"
        case .stringTableOffsetOutOfRange(let index, let length):
            return "WBXML string-table reference \(index) is outside the \(length)-byte string table"
        case .unknownTag(let page, let token, let offset):
            return "WBXML tag token \(hex(token)) on code page \(page) at offset \(offset) is not defined"
        case .unknownAttribute(let page, let token, let offset):
            return "WBXML attribute token \(hex(token)) on code page \(page) at offset \(offset) is not defined"
        case .extensionToken(let token, let offset):
            return "WBXML extension token \(hex(token)) at offset \(offset): no bootstrap document type defines extensions"
        case .unexpectedToken(let token, let offset, let context):
            return "WBXML token \(hex(token)) at offset \(offset) is not allowed \(context)"
        case .invalidEntity(let code, let offset):
            return "WBXML entity \(code) at offset \(offset) is not a Unicode character"
        case .invalidUTF8(let offset):
            return "WBXML string at offset \(offset) is not valid UTF-8"
        case .tooDeep(let offset):
            return "WBXML elements nest deeper than \(WBXMLDecoder.maxDepth) at offset \(offset)"
        case .trailingData(let offset):
            return "WBXML has bytes after the root element, at offset \(offset)"
        case .tooLarge(let bytes, let limit):
            return "WBXML is \(bytes) bytes, more than the \(limit) a bootstrap document may have"
        case .tooManyElements(let offset, let limit):
            return "WBXML has more than \(limit) elements (at offset \(offset)), more than a bootstrap document may have"
        case .tooMuchReferencedText(let offset, let limit):
            return "WBXML string-table references at offset \(offset) add up to more than \(limit) bytes of text"
        }
    }
}
