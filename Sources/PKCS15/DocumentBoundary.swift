/// Where a bootstrap document ends inside a padded EF, told from the bytes
/// read so far, so that reading can stop once the document is whole.
///
/// Two formats reach a card: WBXML (WAP-192 WBXML 1.3 section 5: a header,
/// then one root element whose END token closes the document) and XML text.
/// UTF-8 XML (declared so, or with no encoding declared, XML 1.0 section
/// 4.3.3) can contain neither 00 (section 2.2, Char) nor FF (never a UTF-8
/// byte), so the first of those is the padding. In another declared
/// encoding FF may be text (ISO-8859-1 'ÿ'), so that XML, like anything
/// else, is `unknown` and the caller reads the whole EF.
enum DocumentBoundary: Equatable {
    case complete(Int)
    case needMore
    case unknown

    static func find(in bytes: [UInt8]) -> DocumentBoundary {
        guard let first = bytes.first else { return .needMore }
        switch first {
        case 0x00...0x03:
            var walk = WBXMLWalk(bytes)
            return walk.end()
        case UInt8(ascii: "<"), 0xEF, UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
            switch XMLDeclaration.encoding(in: bytes) {
            case .pending: return .needMore
            case .named(let name) where name.uppercased() != "UTF-8": return .unknown
            case .named, .none: break
            }
            guard let end = bytes.firstIndex(where: isPadding) else { return .needMore }
            return .complete(end)
        default:
            return .unknown
        }
    }
}

private func isPadding(_ byte: UInt8) -> Bool { byte == 0x00 || byte == 0xFF }

/// The encoding an XML declaration names (XML 1.0 section 2.8 XMLDecl and
/// 4.3.3 EncodingDecl), which only the document's first bytes can hold.
private enum XMLDeclaration: Equatable {
    /// The bytes so far may still become a declaration.
    case pending
    case named(String)
    /// No declaration, or one without an encoding: UTF-8.
    case none

    static func encoding(in bytes: [UInt8]) -> XMLDeclaration {
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        let opening = Array("<?xml".utf8)
        if body.count < opening.count { return opening.starts(with: body) ? .pending : .none }
        guard body.starts(with: opening) else { return .none }
        let close = Array("?>".utf8)
        var end = opening.count
        while end + close.count <= body.count, !body[end..<(end + close.count)].elementsEqual(close) {
            if isPadding(body[end]) { return .none }
            end += 1
        }
        guard end + close.count <= body.count else { return body.contains(where: isPadding) ? .none : .pending }
        return name(in: String(decoding: body[opening.count..<end], as: UTF8.self)).map(XMLDeclaration.named) ?? .none
    }

    /// The value of `encoding = "..."` (or single quotes) in the declaration's text.
    private static func name(in declaration: String) -> String? {
        guard let keyword = declaration.range(of: "encoding") else { return nil }
        var rest = declaration[keyword.upperBound...].drop(while: \.isWhitespace)
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop(while: \.isWhitespace)
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let value = rest.dropFirst().prefix(while: { $0 != quote })
        return value.isEmpty ? nil : String(value)
    }
}

/// A token walk over WBXML that tracks element depth and nothing else. It
/// decodes no names or strings; it only steps over them.
private struct WBXMLWalk {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private enum Stop: Error { case needMore, malformed }

    mutating func end() -> DocumentBoundary {
        do {
            return .complete(try walk())
        } catch Stop.needMore {
            return .needMore
        } catch {
            return .unknown
        }
    }

    private mutating func byte() throws -> UInt8 {
        guard index < bytes.count else { throw Stop.needMore }
        defer { index += 1 }
        return bytes[index]
    }

    /// mb_u_int32: at most five bytes of seven bits (WBXML 1.3 section 5.1).
    private mutating func multiByte() throws -> Int {
        var value = 0
        for _ in 0..<5 {
            let next = try byte()
            value = value << 7 | Int(next & 0x7F)
            if next & 0x80 == 0 { return value }
        }
        throw Stop.malformed
    }

    private mutating func skip(_ count: Int) throws {
        guard count >= 0 else { throw Stop.malformed }
        guard bytes.count - index >= count else { throw Stop.needMore }
        index += count
    }

    private mutating func terminatedString() throws {
        while try byte() != 0x00 {}
    }

    private mutating func walk() throws -> Int {
        _ = try byte()
        if try multiByte() == 0 { _ = try multiByte() }
        let charset = try multiByte()
        // UTF-16 strings end in two zero bytes; this walk does not follow them.
        guard charset != 1015 else { throw Stop.malformed }
        try skip(try multiByte())
        var depth = 0
        while true {
            let token = try byte()
            switch token {
            case 0x00: try skip(1)
            case 0x01:
                guard depth > 0 else { throw Stop.malformed }
                depth -= 1
                if depth == 0 { return index }
            case 0x02, 0x80...0x83: _ = try multiByte()
            case 0x03, 0x40...0x42: try terminatedString()
            case 0x43: try attributes()
            case 0xC0...0xC2: continue
            case 0xC3: try skip(try multiByte())
            default:
                if token & 0x3F == 0x04 { _ = try multiByte() }
                if token & 0x80 != 0 { try attributes() }
                if token & 0x40 != 0 {
                    depth += 1
                } else if depth == 0 {
                    return index
                }
            }
        }
    }

    /// An attribute list, up to and including its END.
    private mutating func attributes() throws {
        while true {
            let token = try byte()
            switch token {
            case 0x01: return
            case 0x00: try skip(1)
            case 0x02, 0x04, 0x80...0x83: _ = try multiByte()
            case 0x03, 0x40...0x42: try terminatedString()
            case 0xC3: try skip(try multiByte())
            default: continue
            }
        }
    }
}
