import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads textual XML into the same `Element` tree as WBXML. External
/// entities are never resolved: a bootstrap must not reach outside itself.
public struct XMLReader {
    public init() {}

    public func decode(_ bytes: [UInt8]) throws -> Document {
        let delegate = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            let error = parser.parserError as NSError?
            throw XMLDocumentError.malformed(line: parser.lineNumber, column: parser.columnNumber,
                                             reason: delegate.failure ?? error?.localizedDescription ?? "not well-formed")
        }
        return Document(root: root, publicID: delegate.publicID)
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [Element] = []
        var root: Element?
        var publicID: String?
        var failure: String?

        static func local(_ name: String) -> String {
            name.split(separator: ":").last.map(String.init) ?? name
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            guard stack.count < WBXMLDecoder.maxDepth else {
                failure = "elements nest deeper than \(WBXMLDecoder.maxDepth)"
                parser.abortParsing()
                return
            }
            let kept = attributes.filter { !$0.key.hasPrefix("xmlns") }
            stack.append(Element(name: Self.local(elementName), attributes: kept))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let finished = stack.popLast() else { return }
            if stack.isEmpty {
                root = finished
            } else {
                stack[stack.count - 1].content.append(.element(finished))
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            if case .text(let previous)? = stack[stack.count - 1].content.last {
                stack[stack.count - 1].content[stack[stack.count - 1].content.count - 1] = .text(previous + string)
            } else {
                stack[stack.count - 1].content.append(.text(string))
            }
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            self.parser(parser, foundCharacters: String(decoding: CDATABlock, as: UTF8.self))
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            failure = "external entity \(name) declared; dmboot does not resolve entities"
            parser.abortParsing()
        }
    }
}

public enum XMLDocumentError: Error, Equatable, CustomStringConvertible {
    case malformed(line: Int, column: Int, reason: String)

    public var description: String {
        switch self {
        case .malformed(let line, let column, let reason):
            return "XML is not well-formed at line \(line), column \(column): \(reason)"
        }
    }
}
