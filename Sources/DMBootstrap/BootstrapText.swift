/// The human form of a decoded bootstrap, one line per account and node,
/// shared by `dmboot decode` and apdu-shell's `decode`, so both tools show a
/// card's bootstrap the same way and redact the same secrets.
public enum BootstrapText {
    public static func lines(_ decoded: DecodedBootstrap, revealSecrets: Bool) -> [String] {
        var lines = ["\(decoded.documentType.rawValue) in \(decoded.encoding.rawValue)\(decoded.publicID.map { " (\($0))" } ?? "")"]
        for account in decoded.accounts {
            lines.append("./DMAcc/\(account.name)  [\(account.source.rawValue)]  ServerID \(account.serverID ?? "(none)")")
            for node in account.nodes where node.value != nil {
                let shown = BootstrapJSON.node(for: node, revealSecrets: revealSecrets).shown
                lines.append("  \(node.path)  (\(node.format.rawValue))  \(shown)")
            }
        }
        for path in decoded.otherNodes { lines.append("not an account node, not installed: \(path)") }
        for command in decoded.ignoredCommands { lines.append("command not run: \(command)") }
        return lines
    }
}
