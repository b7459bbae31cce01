/// A BER/DER element as it sits in a card file: where it starts, its tag and
/// its value. Offsets are from the start of the file so that an error can
/// point at the byte a person should look at.
public struct BERElement: Equatable, Sendable {
    /// The tag as its identifier bytes read big-endian (A1, 30, 5F21...).
    public let tag: UInt32
    public let isConstructed: Bool
    public let offset: Int
    public let headerLength: Int
    public let value: ArraySlice<UInt8>

    public var totalLength: Int { headerLength + value.count }
    public var valueOffset: Int { offset + headerLength }
    public var bytes: [UInt8] { Array(value) }
}

public enum PKCS15Error: Error, Equatable, CustomStringConvertible {
    case truncated(file: String, offset: Int, needed: Int, available: Int)
    case indefiniteLength(file: String, offset: Int)
    case lengthTooLarge(file: String, offset: Int)
    case unexpectedTag(file: String, offset: Int, expected: String, found: UInt32)
    case invalidValue(file: String, offset: Int, reason: String)
    case trailingData(file: String, offset: Int)
    case nestingTooDeep(file: String, offset: Int)
    case noPKCS15Application
    case noBootstrapObject
    case pathOutsideApplication(path: String)
    case fileShorterThanDeclared(path: String, declared: Int, actual: Int)
    case recordReferenceUnsupported(path: String)

    public var description: String {
        switch self {
        case .truncated(let file, let offset, let needed, let available):
            return "\(file) at offset \(offset): the element needs \(needed) bytes but only \(available) remain (truncated)"
        case .indefiniteLength(let file, let offset):
            return "\(file) at offset \(offset): indefinite length is not DER"
        case .lengthTooLarge(let file, let offset):
            return "\(file) at offset \(offset): the length field is longer than 4 bytes"
        case .unexpectedTag(let file, let offset, let expected, let found):
            return "\(file) at offset \(offset): expected \(expected), found tag \(String(found, radix: 16, uppercase: true))"
        case .invalidValue(let file, let offset, let reason):
            return "\(file) at offset \(offset): \(reason)"
        case .trailingData(let file, let offset):
            return "\(file) at offset \(offset): bytes after the last element are neither FF nor 00 padding"
        case .nestingTooDeep(let file, let offset):
            return "\(file) at offset \(offset): structures nest deeper than any PKCS#15 file does"
        case .noPKCS15Application:
            return "the card has no PKCS#15 application: SELECT by its AID failed and EF(DIR) names none"
        case .noBootstrapObject:
            return "the PKCS#15 application carries no DM bootstrap object (an oidDO 2.23.43.7.1 in a DODF)"
        case .pathOutsideApplication(let path):
            return "the DODF points at \(path), outside the PKCS#15 application; it is not read"
        case .fileShorterThanDeclared(let path, let declared, let actual):
            return "EF \(path) holds \(actual) bytes but its Path declares \(declared)"
        case .recordReferenceUnsupported(let path):
            return "EF \(path) is a record file; bootstrap objects are read from transparent EFs"
        }
    }
}

/// Reads BER elements one after another, checking every length against
/// what is left before trusting it. Never traps on any input.
public struct BERReader {
    public let file: String
    private let bytes: ArraySlice<UInt8>
    private(set) var position: Int
    private let depth: Int
    /// Files are often larger than their content and padded with FF or 00;
    /// padding ends a file, never a constructed element.
    private let allowsPadding: Bool
    /// Where the trailing FF/00 padding starts, found once so that asking at
    /// every element stays linear in the file's size (a file of zeros ending in
    /// one other byte made each look rescan the whole rest).
    private let paddingStart: Int
    static let maxDepth = 16

    public init(_ bytes: [UInt8], file: String) {
        self.init(bytes[...], file: file, depth: 0, allowsPadding: true)
    }

    init(_ bytes: ArraySlice<UInt8>, file: String, depth: Int, allowsPadding: Bool) {
        self.bytes = bytes
        self.file = file
        position = bytes.startIndex
        self.depth = depth
        self.allowsPadding = allowsPadding
        paddingStart = bytes.lastIndex { $0 != 0xFF && $0 != 0x00 }.map { $0 + 1 } ?? bytes.startIndex
    }

    public var isAtEnd: Bool { position >= bytes.endIndex }

    /// Whether everything left is FF or 00 padding (files are often larger than their content).
    public var restIsPadding: Bool { position >= paddingStart }

    /// The next element, or nil at the end or where only padding is left.
    public mutating func next() throws -> BERElement? {
        if isAtEnd || allowsPadding && (bytes[position] == 0x00 || bytes[position] == 0xFF) && restIsPadding {
            return nil
        }
        let start = position
        var index = position
        func take() throws -> UInt8 {
            guard index < bytes.endIndex else {
                throw PKCS15Error.truncated(file: file, offset: start, needed: index - start + 1, available: bytes.endIndex - start)
            }
            defer { index += 1 }
            return bytes[index]
        }
        let first = try take()
        var tag = UInt32(first)
        if first & 0x1F == 0x1F {
            var count = 0
            while true {
                let next = try take()
                tag = tag << 8 | UInt32(next)
                count += 1
                if next & 0x80 == 0 { break }
                guard count < 3 else { throw PKCS15Error.invalidValue(file: file, offset: start, reason: "tag longer than 4 bytes") }
            }
        }
        let lengthByte = try take()
        var length = 0
        if lengthByte == 0x80 {
            throw PKCS15Error.indefiniteLength(file: file, offset: start)
        } else if lengthByte & 0x80 != 0 {
            let count = Int(lengthByte & 0x7F)
            guard count <= 4 else { throw PKCS15Error.lengthTooLarge(file: file, offset: start) }
            for _ in 0..<count { length = length << 8 | Int(try take()) }
        } else {
            length = Int(lengthByte)
        }
        let headerLength = index - start
        guard length <= bytes.endIndex - index else {
            throw PKCS15Error.truncated(file: file, offset: start, needed: headerLength + length,
                                        available: bytes.endIndex - start)
        }
        position = index + length
        return BERElement(tag: tag, isConstructed: first & 0x20 != 0, offset: start,
                          headerLength: headerLength, value: bytes[index..<(index + length)])
    }

    /// The next element, which must carry `tag`.
    public mutating func expect(_ tag: UInt32, _ what: String) throws -> BERElement {
        let offset = currentOffset
        guard let element = try next() else {
            throw PKCS15Error.truncated(file: file, offset: offset, needed: 2, available: 0)
        }
        guard element.tag == tag else {
            throw PKCS15Error.unexpectedTag(file: file, offset: element.offset, expected: what, found: element.tag)
        }
        return element
    }

    /// The next element if it carries `tag`; otherwise nothing is consumed.
    public mutating func optional(_ tag: UInt32) throws -> BERElement? {
        var lookahead = self
        guard let element = try lookahead.next(), element.tag == tag else { return nil }
        self = lookahead
        return element
    }

    /// A reader over the inside of a constructed element.
    public func children(of element: BERElement) throws -> BERReader {
        guard depth + 1 < Self.maxDepth else { throw PKCS15Error.nestingTooDeep(file: file, offset: element.offset) }
        return BERReader(element.value, file: file, depth: depth + 1, allowsPadding: false)
    }

    /// Where the next element starts, from the start of the file.
    public var currentOffset: Int { position }
}
