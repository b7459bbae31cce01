import DMBootstrap
import Foundation

/// The tree's accounts as documents: TNDS XML (OMA DM TNDS 1.2, readable by
/// `dmboot decode` and `tree import`) and JSON. Secret values are left out
/// unless `revealSecrets`, so an export without it cannot restore them.
public enum TreeExport {
    public static func tnds(_ accounts: [(DMAccount, InstalledAccount)], acls: [String: String], revealSecrets: Bool) -> String {
        var lines = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<!DOCTYPE MgmtTree PUBLIC \"-//OMA//DTD-DM-DDF 1.2//EN\" \"http://www.openmobilealliance.org/tech/DTD/DM_DDF-V1_2.dtd\">",
            "<MgmtTree xmlns=\"syncml:dmddf1.2\">",
            "  <VerDTD>1.2</VerDTD>",
        ]
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
                let properties = "<RTProperties>\(acl)<Format><\(node.format.rawValue)/></Format>\(type)</RTProperties>"
                if node.format == .node {
                    lines.append("\(indent)<Node><NodeName>\(escape(parts.last!))</NodeName>\(properties)")
                    open = parts
                    continue
                }
                var value = ""
                if let bytes = node.value, !node.isSecret || revealSecrets {
                    let text = node.format.isBinary || String(validating: bytes, as: UTF8.self) == nil
                        ? Data(bytes).base64EncodedString() : String(decoding: bytes, as: UTF8.self)
                    value = "<Value>\(escape(text))</Value>"
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

    public static func json(_ accounts: [(DMAccount, InstalledAccount)], revealSecrets: Bool) -> [String: Any] {
        ["accounts": accounts.map { account, installed in
            [
                "name": account.name,
                "serverID": installed.serverID,
                "source": installed.provenance.source.rawValue,
                "cardIdentity": installed.provenance.cardIdentity ?? NSNull(),
                "document": installed.provenance.document ?? NSNull(),
                "installedAt": ISO8601DateFormatter().string(from: installed.provenance.time),
                "nodes": account.nodes.map { BootstrapJSON.node(for: $0, revealSecrets: revealSecrets) },
            ] as [String: Any]
        }]
    }

    /// Accounts from a JSON export. A redacted secret cannot be restored, so it is an error.
    public static func accounts(fromJSON data: Data) throws -> [DMAccount] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = object["accounts"] as? [[String: Any]] else {
            throw ImportError.malformed("not a dmboot tree export: no \"accounts\" list")
        }
        return try list.map { entry in
            guard let name = entry["name"] as? String, let nodes = entry["nodes"] as? [[String: Any]] else {
                throw ImportError.malformed("an account has no name or nodes")
            }
            return DMAccount(name: name, source: .tnds, nodes: try nodes.map { node in
                guard let path = node["path"] as? String, let format = (node["format"] as? String).flatMap(NodeFormat.init) else {
                    throw ImportError.malformed("\(name): a node has no path or a bad format")
                }
                if node["redacted"] != nil { throw ImportError.redactedSecret("\(name)/\(path)") }
                var value: [UInt8]?
                if let text = node["value"] as? String {
                    value = Array(text.utf8)
                } else if let base64 = node["base64"] as? String {
                    guard let data = Data(base64Encoded: base64) else { throw ImportError.malformed("\(name)/\(path): bad base64") }
                    value = [UInt8](data)
                } else if format != .node {
                    value = []
                }
                return DMNode(path: path, format: format, type: node["type"] as? String, value: value)
            })
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

public enum ImportError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case redactedSecret(String)

    public var description: String {
        switch self {
        case .malformed(let reason): return "the import file is not valid: \(reason)"
        case .redactedSecret(let path):
            return "\(path) was exported without its value (no --reveal-secrets); the export cannot restore it, nothing was imported"
        }
    }
}
