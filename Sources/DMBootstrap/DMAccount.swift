/// The DM node formats of OMA DM TND: a node keeps the one it was given.
public enum NodeFormat: String, CaseIterable, Sendable, Codable {
    case b64, bin, bool, chr, int, node, null, xml, date, time, float

    /// Formats whose value is binary, shown in base64.
    public var isBinary: Bool { self == .b64 || self == .bin }
}

/// One node of an account, its path relative to `./DMAcc/<name>`.
public struct DMNode: Equatable, Sendable {
    public var path: String
    public var format: NodeFormat
    /// The MIME type or DDF name, when the bootstrap gave one.
    public var type: String?
    /// The exact value bytes; nil for interior nodes.
    public var value: [UInt8]?

    public init(path: String, format: NodeFormat, type: String? = nil, value: [UInt8]?) {
        self.path = path
        self.format = format
        self.type = type
        self.value = value
    }

    public var text: String? { value.map { String(decoding: $0, as: UTF8.self) } }

    /// The leaf name: the last path segment.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }

    /// Credentials the CR and DMStdObj give "No Get": never shown without an explicit request.
    public var isSecret: Bool {
        DMNode.secretNames.contains(name)
    }

    static let secretNames: Set<String> = [
        "AAuthSecret", "AAuthData", "ClientSecretKey", "ClientPublicKeyPSKIdentity", "ServerPublicKeyPSKIdentity",
        "ServerPW", "ClientPW", "ServerNonce", "ClientNonce",
    ]
}

/// A DM account (the DMAcc management object of DM 1.2/1.3 with the CR's
/// Auth/Bootstrap nodes), whatever document it came from.
public struct DMAccount: Equatable, Sendable {
    public enum Source: String, Sendable {
        case syncML = "syncml-dm"
        case legacySyncML = "syncml-dm-1.1.2"
        case tnds
        case clientProvisioning = "cp-w7"
    }

    /// `<x>` in ./DMAcc/<x>.
    public var name: String
    public var source: Source
    /// Nodes by path, interior ones included: a dictionary, so that a
    /// document with many nodes costs linear time to read.
    private var byPath: [String: DMNode]

    public init(name: String, source: Source, nodes: [DMNode] = []) {
        self.name = name
        self.source = source
        self.byPath = [:]
        for node in nodes { set(node) }
    }

    /// Nodes in path order, interior ones included.
    public var nodes: [DMNode] { byPath.values.sorted { $0.path < $1.path } }

    public func node(_ path: String) -> DMNode? { byPath[path] }
    public func text(_ path: String) -> String? { node(path)?.text }

    /// Adds or replaces a node, creating the interior nodes above it.
    public mutating func set(_ node: DMNode) {
        var prefix = ""
        for segment in node.path.split(separator: "/").dropLast() {
            prefix = prefix.isEmpty ? String(segment) : prefix + "/" + segment
            if byPath[prefix] == nil { byPath[prefix] = DMNode(path: prefix, format: .node, value: nil) }
        }
        byPath[node.path] = node
    }

    public var serverID: String? { text("ServerID") }

    /// The interior node names under `parent` ("AppAddr" gives the <x> of AppAddr/<x>).
    public func instances(of parent: String) -> [String] {
        let prefix = parent + "/"
        return byPath.values.compactMap { node in
            guard node.format == .node, node.path.hasPrefix(prefix) else { return nil }
            let name = node.path.dropFirst(prefix.count)
            return name.isEmpty || name.contains("/") ? nil : String(name)
        }.sorted()
    }

    /// How many nodes the account has, interior ones included.
    public var nodeCount: Int { byPath.count }
}

/// A decoded bootstrap document: its accounts and whatever else it carried.
public struct DecodedBootstrap: Equatable, Sendable {
    public enum Encoding: String, Sendable {
        case wbxml, xml
    }

    public enum DocumentType: String, Sendable {
        case syncML = "syncml-dm", tnds, clientProvisioning = "cp"
    }

    public var encoding: Encoding
    public var documentType: DocumentType
    public var publicID: String?
    public var accounts: [DMAccount]
    /// Nodes the document set outside ./DMAcc (reported, not installed).
    public var otherNodes: [String]
    /// Commands other than Add and Replace (reported, not run).
    public var ignoredCommands: [String]

    public init(encoding: Encoding, documentType: DocumentType, publicID: String?, accounts: [DMAccount],
                otherNodes: [String], ignoredCommands: [String]) {
        self.encoding = encoding
        self.documentType = documentType
        self.publicID = publicID
        self.accounts = accounts
        self.otherNodes = otherNodes
        self.ignoredCommands = ignoredCommands
    }
}
