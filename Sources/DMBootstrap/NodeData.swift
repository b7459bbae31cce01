import Foundation

/// Turns the data a document carries for a node into the node's exact bytes.
enum NodeData {
    /// b64 values travel as base64 text (in XML, and as OPAQUE text from
    /// encoders such as libwbxml); anything else is kept byte for byte.
    static func value(_ carried: [UInt8], format: NodeFormat, opaque: Bool) -> [UInt8]? {
        guard format == .b64 || (format == .bin && !opaque) else { return carried }
        let text = String(decoding: carried, as: UTF8.self).filter { !$0.isWhitespace }
        if let decoded = Data(base64Encoded: text) { return [UInt8](decoded) }
        return opaque ? carried : nil
    }
}

/// Where an ./DMAcc path puts a node: account name and path inside it.
enum AccountPath {
    /// "./DMAcc/x/AppAddr/1/Addr" → ("x", "AppAddr/1/Addr"), also without "./".
    /// Empty names inside the URI are kept ("./DMAcc//x" names the account
    /// ""), so the validator refuses them instead of the tree merging them.
    /// A path deeper than any account has is refused: each segment would be
    /// an interior node, so a long one costs its length squared.
    static func split(_ uri: String, root: [String]) throws -> (account: String, path: String)? {
        var parts = uri.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "." || parts.first == "" { parts.removeFirst() }
        if parts.count > root.count + 1, parts.last == "" { parts.removeLast() }
        guard parts.count > root.count, Array(parts.prefix(root.count)) == root else { return nil }
        guard parts.count - root.count - 1 <= DecodingLimits.maxPathSegments else {
            throw BootstrapError.limitExceeded("a node path has more than \(DecodingLimits.maxPathSegments) segments below its account")
        }
        let rest = parts.dropFirst(root.count)
        return (rest.first!, rest.dropFirst().joined(separator: "/"))
    }
}
