/// A decoded XML-family document: what WBXML and textual XML both become,
/// so everything above reads one shape. Namespace prefixes are dropped;
/// OPAQUE data stays bytes.
public struct Element: Equatable, Sendable {
    public enum Content: Equatable, Sendable {
        case element(Element)
        case text(String)
        case opaque([UInt8])
    }

    public var name: String
    public var attributes: [String: String]
    public var content: [Content]

    public init(name: String, attributes: [String: String] = [:], content: [Content] = []) {
        self.name = name
        self.attributes = attributes
        self.content = content
    }

    public var children: [Element] {
        content.compactMap { if case .element(let element) = $0 { return element } else { return nil } }
    }

    public func children(named name: String) -> [Element] { children.filter { $0.name == name } }
    public func child(_ name: String) -> Element? { children.first { $0.name == name } }

    /// The character data of the element (opaque bytes read as UTF-8).
    public var text: String {
        content.map { piece -> String in
            switch piece {
            case .text(let text): return text
            case .opaque(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .element: return ""
            }
        }.joined()
    }

    /// The element's data as bytes, exactly as carried.
    public var bytes: [UInt8] {
        content.flatMap { piece -> [UInt8] in
            switch piece {
            case .text(let text): return Array(text.utf8)
            case .opaque(let bytes): return bytes
            case .element: return []
            }
        }
    }

    /// Whether the data came as WBXML OPAQUE rather than characters.
    public var isOpaque: Bool {
        content.contains { if case .opaque = $0 { return true } else { return false } }
    }
}

/// A document and the public identifier it declared, if any.
public struct Document: Equatable, Sendable {
    public var root: Element
    public var publicID: String?
}
