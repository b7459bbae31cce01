import DMBootstrap
import Foundation
import JSONOutput

/// The tree's accounts as documents: TNDS XML (OMA DM TNDS 1.2, readable by
/// `dmboot decode` and `tree import`) and JSON. Secret values are left out
/// unless `revealSecrets`; such an export says so in itself, and importing
/// it is refused unless the caller accepts restoring those nodes empty.
public enum TreeExport {
    /// The ./DMAcc paths of the secret values an export without `revealSecrets` leaves out.
    public static func leftOutSecrets(_ accounts: [(DMAccount, InstalledAccount)], revealSecrets: Bool) -> [String] {
        guard !revealSecrets else { return [] }
        return accounts.flatMap { account, _ in
            account.nodes.filter { $0.isSecret && $0.value != nil }.map { "./DMAcc/\(account.name)/\($0.path)" }
        }
    }

    public static func tnds(_ accounts: [(DMAccount, InstalledAccount)], acls: [String: String], revealSecrets: Bool) -> String {
        var lines = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<!DOCTYPE MgmtTree PUBLIC \"-//OMA//DTD-DM-DDF 1.2//EN\" \"http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd\">",
        ]
        let leftOut = leftOutSecrets(accounts, revealSecrets: revealSecrets)
        if !leftOut.isEmpty {
            lines.append("<!-- dmboot: \(leftOut.count) secret value(s) were left out (exported without the reveal-secrets flag); "
                         + "this file cannot restore them. Nodes without a Value: "
                         + leftOut.joined(separator: " ").replacingOccurrences(of: "--", with: "- -") + " -->")
        }
        lines += ["<MgmtTree xmlns=\"syncml:dmddf1.2\">", "  <VerDTD>1.2</VerDTD>"]
        for (account, _) in accounts {
            lines.append("  <Node><NodeName>\(escape(account.name))</NodeName><Path>./DMAcc</Path>")
            lines.append("    <RTProperties><Format><node/></Format></RTProperties>")
            var open: [String] = []
            for node in account.nodes {
                let parts = node.path.split(separator: "/").map(String.init)
                while !open.isEmpty && (open.count >= parts.count || Array(parts.prefix(open.count)) != open) {
                    open.removeLast()
                    lines.append(String(repeating: "  ", count: open.count + 2) + "</Node>")
                }
                let indent = String(repeating: "  ", count: open.count + 2)
                let acl = acls["./DMAcc/\(account.name)/\(node.path)"].map { "<ACL>\(escape($0))</ACL>" } ?? ""
                let type = node.type.map { "<Type><MIME>\(escape($0))</MIME></Type>" } ?? ""
                let text = node.value.flatMap(xmlText)
                // What XML cannot carry byte for byte travels as b64 (TND 1.2's
                // base64 format), so the value comes back exactly.
                let format = node.format == .node || node.format.isBinary || node.value == nil || text != nil
                    ? node.format : .b64
                let properties = "<RTProperties>\(acl)<Format><\(format.rawValue)/></Format>\(type)</RTProperties>"
                if node.format == .node {
                    lines.append("\(indent)<Node><NodeName>\(escape(parts.last!))</NodeName>\(properties)")
                    open = parts
                    continue
                }
                var value = ""
                if let bytes = node.value, !node.isSecret || revealSecrets {
                    value = "<Value>\(escape(format.isBinary ? Data(bytes).base64EncodedString() : text ?? ""))</Value>"
                }
                lines.append("\(indent)<Node><NodeName>\(escape(parts.last!))</NodeName>\(properties)\(value)</Node>")
            }
            while !open.isEmpty {
                open.removeLast()
                lines.append(String(repeating: "  ", count: open.count + 2) + "</Node>")
            }
            lines.append("  </Node>")
        }
        lines.append("</MgmtTree>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A value as XML character data that reads back as the same bytes:
    /// valid UTF-8 holding only characters XML 1.0 allows, and no carriage
    /// return (XML turns it into a line feed). Nil when there is none.
    static func xmlText(_ bytes: [UInt8]) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let carried = text.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x09, 0x0A, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
            default: return false
            }
        }
        return carried ? text : nil
    }

    /// An installed account and its provenance, as `tree show --json` lists
    /// it and a JSON export carries it (dmboot(1)).
    public struct InstalledAccountJSON: Encodable, Sendable {
        let name: String
        let serverID: String
        let source: String
        @NullWhenAbsent var cardIdentity: String?
        @NullWhenAbsent var document: String?
        let installedAt: String

        public init(_ account: InstalledAccount) {
            name = account.name
            serverID = account.serverID
            source = account.provenance.source.rawValue
            cardIdentity = account.provenance.cardIdentity
            document = account.provenance.document
            installedAt = ISO8601DateFormatter().string(from: account.provenance.time)
        }
    }

    /// The JSON export (`tree export --format json`): each account with its
    /// provenance and nodes, and `secretsLeftOut` when secrets were left out.
    public struct JSONExport: Encodable, Sendable {
        /// The account as `tree show --json` shows it, with its nodes.
        public struct Account: Encodable, Sendable {
            let account: InstalledAccountJSON
            let nodes: [BootstrapJSON.Node]

            private enum CodingKeys: String, CodingKey { case nodes }

            public func encode(to encoder: any Encoder) throws {
                try account.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(nodes, forKey: .nodes)
            }
        }

        public let accounts: [Account]
        public let secretsLeftOut: [String]?
    }

    public static func json(_ accounts: [(DMAccount, InstalledAccount)], revealSecrets: Bool) -> JSONExport {
        let leftOut = leftOutSecrets(accounts, revealSecrets: revealSecrets)
        return JSONExport(accounts: accounts.map { account, installed in
            JSONExport.Account(account: InstalledAccountJSON(installed),
                               nodes: account.nodes.map { BootstrapJSON.node(for: $0, revealSecrets: revealSecrets) })
        }, secretsLeftOut: leftOut.isEmpty ? nil : leftOut)
    }

    /// Accounts from a JSON export, and the ./DMAcc paths of the secrets it
    /// left out (redacted): those nodes come with an empty value, and the
    /// caller decides whether that is acceptable.
    public static func accounts(fromJSON data: Data) throws -> (accounts: [DMAccount], secretsLeftOut: [String]) {
        guard data.count <= DecodingLimits.maxBytes else {
            throw ImportError.malformed("\(data.count) bytes, more than the \(DecodingLimits.maxBytes) an export of one tree may have")
        }
        guard let export = try? JSONDecoder().decode(ImportedExport.self, from: data) else {
            throw ImportError.malformed("not a dmboot tree export: no \"accounts\" list")
        }
        var leftOut: [String] = []
        let accounts = try export.accounts.map { entry in
            guard let name = entry.name, let nodes = entry.nodes else {
                throw ImportError.malformed("an account has no name or nodes")
            }
            return DMAccount(name: name, source: .tnds, nodes: try nodes.map { node in
                guard let path = node.path, let format = node.format.flatMap(NodeFormat.init) else {
                    throw ImportError.malformed("\(name): a node has no path or a bad format")
                }
                guard path.split(separator: "/").count <= DecodingLimits.maxPathSegments else {
                    throw ImportError.malformed("\(name): a node path has more than \(DecodingLimits.maxPathSegments) segments")
                }
                var value: [UInt8]?
                if node.redacted {
                    leftOut.append("./DMAcc/\(name)/\(path)")
                    value = []
                } else if let text = node.value {
                    value = Array(text.utf8)
                } else if let base64 = node.base64 {
                    guard let data = Data(base64Encoded: base64) else { throw ImportError.malformed("\(name)/\(path): bad base64") }
                    value = [UInt8](data)
                } else if format != .node {
                    value = []
                }
                return DMNode(path: path, format: format, type: node.type, value: value)
            })
        }
        try DecodingLimits.check(accounts)
        return (accounts, leftOut)
    }

    /// A JSON export as import reads it: every member optional, so that what
    /// is missing or of the wrong kind is named by `accounts(fromJSON:)`, and
    /// members of another kind than the export writes are ignored.
    private struct ImportedExport: Decodable {
        let accounts: [ImportedAccount]
    }

    private struct ImportedAccount: Decodable {
        let name: String?
        let nodes: [ImportedNode]?

        enum CodingKeys: String, CodingKey {
            case name, nodes
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try? container.decodeIfPresent(String.self, forKey: .name)
            nodes = try? container.decodeIfPresent([ImportedNode].self, forKey: .nodes)
        }
    }

    private struct ImportedNode: Decodable {
        let path: String?
        let format: String?
        let type: String?
        let value: String?
        let base64: String?
        /// An export without --reveal-secrets: the value is left out, whatever this member holds.
        let redacted: Bool

        enum CodingKeys: String, CodingKey {
            case path, format, type, value, base64, redacted
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try? container.decodeIfPresent(String.self, forKey: .path)
            format = try? container.decodeIfPresent(String.self, forKey: .format)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
            value = try? container.decodeIfPresent(String.self, forKey: .value)
            base64 = try? container.decodeIfPresent(String.self, forKey: .base64)
            redacted = container.contains(.redacted)
        }
    }

    /// The secret nodes of a TNDS document that carry no Value: what an
    /// export without --reveal-secrets leaves out (or another tool never put in).
    public static func secretsWithoutValue(inTNDS bytes: [UInt8]) throws -> [String] {
        let document = (0x01...0x03).contains(bytes.first ?? 0) ? try WBXMLDecoder().decode(bytes) : try XMLReader().decode(bytes)
        var found: [String] = []
        func visit(_ node: Element, parent: String) {
            guard let name = node.child("NodeName")?.text.trimmingCharacters(in: .whitespacesAndNewlines) else { return }
            let base = node.child("Path")?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? parent
            let path = [base, name].filter { !$0.isEmpty }.joined(separator: "/")
            let children = node.children(named: "Node")
            let format = node.child("RTProperties")?.child("Format")?.children.first?.name ?? (children.isEmpty ? "chr" : "node")
            if format != "node", node.child("Value") == nil, DMNode(path: name, format: .chr, value: nil).isSecret {
                found.append(path)
            }
            for child in children { visit(child, parent: path) }
        }
        for node in document.root.children(named: "Node") { visit(node, parent: "") }
        return found
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

public enum ImportError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case secretsLeftOut([String])

    public var description: String {
        switch self {
        case .malformed(let reason): return "the import file is not valid: \(reason)"
        case .secretsLeftOut(let paths):
            return "the file was exported without --reveal-secrets: \(paths.count) secret value(s) are missing "
                + "(\(paths.joined(separator: ", "))); nothing was imported. Export again with --reveal-secrets, "
                + "or import with --allow-missing-secrets to restore everything else with those values empty"
        }
    }
}
