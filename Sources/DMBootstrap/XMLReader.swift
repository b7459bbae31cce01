import CLibXML2
import ExitContract

/// libxml2's functions, loaded on the first XML document (CLibXML2's shim
/// says why); libxml2 sets up its global tables then, once, before any parse,
/// which keeps that off the threads a station reads cards on.
enum LibXML2 {
    static let loaded: Result<clibxml2_functions, LibraryMissing> = {
        var functions = clibxml2_functions()
        if let failure = clibxml2_load(&functions) {
            return .failure(LibraryMissing(library: "libxml2.so.2", package: "libxml2", reason: String(cString: failure)))
        }
        functions.initParser()
        return .success(functions)
    }()
}

/// Reads textual XML into the same `Element` tree as WBXML, with libxml2:
/// it reports bad bytes as errors where Foundation's XMLParser trapped.
/// Nothing outside the document is ever read: no network, no DTD loading,
/// no entity expansion, and a document that declares or uses an entity
/// other than the five predefined ones and character references is refused
/// rather than read with holes where the entity's text would have been.
public struct XMLReader {
    public init() {}

    public func decode(_ bytes: [UInt8]) throws -> Document {
        guard bytes.count <= DecodingLimits.maxBytes else {
            throw XMLDocumentError.tooLarge(bytes: bytes.count, limit: DecodingLimits.maxBytes)
        }
        if Self.isUTF8(declaredBy: bytes), let offset = Self.firstInvalidUTF8(bytes) {
            let (line, column) = Self.position(of: offset, in: bytes)
            throw XMLDocumentError.invalidUTF8(offset: offset, line: line, column: column)
        }
        let xml = try LibXML2.loaded.get()
        // Encoding errors bypass the context's error settings and would be
        // printed on stderr; they reach us through the context's last error.
        xml.setStructuredErrorFunc(nil) { _, _ in }
        guard let context = xml.newParserCtxt() else { throw XMLDocumentError.outOfMemory }
        defer { xml.freeParserCtxt(context) }
        // Entity declarations stop the parse where they stand: the reader
        // never has to reason about what an entity would have expanded to.
        context.pointee.sax.pointee.entityDecl = { context, _, _, _, _, _ in
            if case .success(let xml) = LibXML2.loaded { xml.stopParser(context?.assumingMemoryBound(to: xmlParserCtxt.self)) }
        }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                xml.ctxtReadMemory(context, $0, Int32(buffer.count), nil, nil, options)
            }
        }
        guard let document = parsed, context.pointee.wellFormed != 0, context.pointee.errNo == 0 else {
            if parsed != nil { xml.freeDoc(parsed) }
            throw Self.failure(of: context, xml: xml)
        }
        defer { xml.freeDoc(document) }
        guard let rootNode = xml.docGetRootElement(document) else {
            throw XMLDocumentError.malformed(line: 1, column: 1, reason: "no root element")
        }
        var builder = TreeBuilder(xml: xml)
        let root = try builder.element(rootNode, depth: 0)
        return Document(root: root, publicID: nil)
    }

    /// The error libxml2 recorded, in our terms.
    static func failure(of context: xmlParserCtxtPtr, xml: clibxml2_functions) -> XMLDocumentError {
        if context.pointee.errNo == Int32(XML_ERR_USER_STOP.rawValue) {
            return .entityDeclared(line: Int(context.pointee.input?.pointee.line ?? 0))
        }
        guard let error = xml.ctxtGetLastError(context) else {
            return .malformed(line: 1, column: 1, reason: "not well-formed")
        }
        let code = error.pointee.code
        if code == Int32(XML_ERR_UNDECLARED_ENTITY.rawValue) || code == Int32(XML_WAR_UNDECLARED_ENTITY.rawValue) {
            return .undefinedEntity(line: Int(error.pointee.line))
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "not well-formed"
        return .malformed(line: Int(error.pointee.line), column: Int(error.pointee.int2),
                          reason: message.split(whereSeparator: \.isNewline).first.map(String.init) ?? message)
    }

    /// Whether the document is UTF-8 by the rules of XML 1.0 appendix F:
    /// no UTF-16 byte-order mark and no declaration naming another encoding.
    static func isUTF8(declaredBy bytes: [UInt8]) -> Bool {
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) { return false }
        let head = bytes.prefix(256)
        guard head.starts(with: Array("<?xml".utf8)), let end = head.firstIndex(of: UInt8(ascii: ">")) else { return true }
        let declaration = String(decoding: head[..<end], as: UTF8.self).lowercased()
        guard let range = declaration.range(of: "encoding") else { return true }
        let rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        return name == "utf-8" || name == "utf8"
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Line and column (both from 1) of a byte offset, counting columns in bytes.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let before = bytes[..<offset]
        let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        return (line, offset - lineStart + 1)
    }

    /// Copies libxml2's tree into `Element`s, counting them against the limits.
    private struct TreeBuilder {
        let xml: clibxml2_functions
        var elements = 0

        mutating func element(_ node: xmlNodePtr, depth: Int) throws -> Element {
            guard depth < DecodingLimits.maxDepth else {
                throw XMLDocumentError.tooDeep(line: Int(xml.getLineNo(node)), limit: DecodingLimits.maxDepth)
            }
            elements += 1
            guard elements <= DecodingLimits.maxElements else {
                throw XMLDocumentError.tooManyElements(limit: DecodingLimits.maxElements)
            }
            var element = Element(name: Self.string(node.pointee.name))
            var attribute = node.pointee.properties
            while let current = attribute {
                var name = Self.string(current.pointee.name)
                if let prefix = current.pointee.ns?.pointee.prefix { name = Self.string(prefix) + ":" + name }
                element.attributes[name] = try text(of: current.pointee.children)
                attribute = current.pointee.next
            }
            var text: [UInt8] = []
            func flushText() {
                if !text.isEmpty {
                    element.content.append(.text(String(decoding: text, as: UTF8.self)))
                    text.removeAll()
                }
            }
            var child = node.pointee.children
            while let current = child {
                switch current.pointee.type {
                case XML_ELEMENT_NODE:
                    flushText()
                    element.content.append(.element(try self.element(current, depth: depth + 1)))
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                    if let content = current.pointee.content {
                        text.append(contentsOf: UnsafeBufferPointer(start: content, count: Int(xml.strlen(content))))
                    }
                case XML_ENTITY_REF_NODE:
                    throw XMLDocumentError.undefinedEntity(line: Int(xml.getLineNo(current)))
                default:
                    break
                }
                child = current.pointee.next
            }
            flushText()
            return element
        }

        /// An attribute's value: libxml2 keeps it as a list of text nodes.
        func text(of first: xmlNodePtr?) throws -> String {
            var bytes: [UInt8] = []
            var node = first
            while let current = node {
                if current.pointee.type == XML_ENTITY_REF_NODE {
                    throw XMLDocumentError.undefinedEntity(line: Int(xml.getLineNo(current)))
                }
                if let content = current.pointee.content {
                    bytes.append(contentsOf: UnsafeBufferPointer(start: content, count: Int(xml.strlen(content))))
                }
                node = current.pointee.next
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        static func string(_ pointer: UnsafePointer<xmlChar>?) -> String {
            pointer.map { String(cString: $0) } ?? ""
        }
    }
}

/// Sizes no bootstrap document reaches (a card's bootstrap file is a few
/// kilobytes, a backup of a tree a few hundred), so that a hostile one is
/// refused before it costs time or memory.
public enum DecodingLimits {
    /// Input bytes, for every encoding.
    public static let maxBytes = 1 << 20
    /// Element nesting: deeper than any bootstrap nests, shallow enough that
    /// recursive readers cannot exhaust the stack.
    public static let maxDepth = 64
    /// Elements in one document.
    public static let maxElements = 50_000
    /// Segments of a node path inside an account (AppAddr/1/Port/1/PortNbr
    /// has five): each one is an interior node to create.
    public static let maxPathSegments = 32
    /// Nodes of one account, interior ones included (a DMAcc account has a
    /// few dozen); validation looks at each node more than once.
    public static let maxNodesPerAccount = 1_000

    /// Refuses accounts over the limits once a reader has built them.
    public static func check(_ accounts: [DMAccount]) throws {
        for account in accounts where account.nodeCount > maxNodesPerAccount {
            throw BootstrapError.limitExceeded("account \(account.name) has more than \(maxNodesPerAccount) nodes")
        }
    }
}

public enum XMLDocumentError: Error, Equatable, CustomStringConvertible {
    case malformed(line: Int, column: Int, reason: String)
    case invalidUTF8(offset: Int, line: Int, column: Int)
    case entityDeclared(line: Int)
    case undefinedEntity(line: Int)
    case tooLarge(bytes: Int, limit: Int)
    case tooDeep(line: Int, limit: Int)
    case tooManyElements(limit: Int)
    case outOfMemory

    public var description: String {
        switch self {
        case .malformed(let line, let column, let reason):
            return "XML is not well-formed at line \(line), column \(column): \(reason)"
        case .invalidUTF8(let offset, let line, let column):
            return "XML is not valid UTF-8 at byte offset \(offset) (line \(line), column \(column)); "
                + "declare the encoding if it is not UTF-8"
        case .entityDeclared(let line):
            return "XML declares an entity at line \(line); dmboot does not read entity declarations or external entities"
        case .undefinedEntity(let line):
            return "XML refers to an entity that is not one of the five predefined ones at line \(line); "
                + "dmboot does not expand entities (use a character reference)"
        case .tooLarge(let bytes, let limit):
            return "XML is \(bytes) bytes, more than the \(limit) a bootstrap document may have"
        case .tooDeep(let line, let limit):
            return "XML elements nest deeper than \(limit) at line \(line)"
        case .tooManyElements(let limit):
            return "XML has more than \(limit) elements, more than a bootstrap document may have"
        case .outOfMemory:
            return "libxml2 could not allocate a parser"
        }
    }
}
