import Foundation

/// The JSON form of a decoded bootstrap that `dmboot decode --json` prints
/// (documented in dmboot(1), DECODE OUTPUT). Keys never change meaning.
public enum BootstrapJSON {
    public static func object(_ bootstrap: DecodedBootstrap, problems: [AccountProblem], revealSecrets: Bool) -> [String: Any] {
        [
            "encoding": bootstrap.encoding.rawValue,
            "documentType": bootstrap.documentType.rawValue,
            "publicId": bootstrap.publicID ?? NSNull(),
            "accounts": bootstrap.accounts.map { entry in
                account(entry, problems: problems.filter { $0.account == entry.name }, revealSecrets: revealSecrets)
            },
            "otherNodes": bootstrap.otherNodes,
            "ignoredCommands": bootstrap.ignoredCommands,
            "warnings": problems.filter { $0.severity == .warning }.map {
                ["account": $0.account, "path": $0.path, "problem": $0.problem]
            },
            "valid": !problems.contains { $0.severity == .error } && !bootstrap.accounts.isEmpty,
        ]
    }

    public static func account(_ account: DMAccount, problems: [AccountProblem], revealSecrets: Bool) -> [String: Any] {
        [
            "name": account.name,
            "source": account.source.rawValue,
            "serverID": account.serverID ?? NSNull(),
            "nodes": account.nodes.map { node(for: $0, revealSecrets: revealSecrets) },
            "problems": problems.map { ["path": $0.path, "problem": $0.problem, "severity": $0.severity.rawValue] },
        ]
    }

    /// A node: path, format, type, and its value as text (text formats) or
    /// base64 (bin, b64); a secret's value only as its size, unless revealed.
    public static func node(for node: DMNode, revealSecrets: Bool) -> [String: Any] {
        var object: [String: Any] = ["path": node.path, "format": node.format.rawValue]
        if let type = node.type { object["type"] = type }
        if node.isSecret { object["secret"] = true }
        guard let value = node.value else { return object }
        if node.isSecret && !revealSecrets {
            object["redacted"] = "<redacted \(value.count) bytes>"
        } else if node.format.isBinary || String(validating: value, as: UTF8.self) == nil {
            object["base64"] = Data(value).base64EncodedString()
        } else {
            object["value"] = String(decoding: value, as: UTF8.self)
        }
        return object
    }
}
