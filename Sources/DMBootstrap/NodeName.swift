/// The names a DM tree can hold, by OMA DM TND 1.2.1 section 5 ("The
/// Management Tree"): a node's URI is its ancestors' names joined by "/",
/// a URI never ends in "/", "../" never appears and "./" only at the start,
/// and the URI is an RFC 2396 relative URI, which has no control characters
/// (RFC 2396 section 2.4.3). A name that breaks these would address another
/// node, or none, once the tree is written: dmboot refuses it on every way in
/// (card, push, import) and before anything reaches the store.
public enum NodeName {
    /// Why `name` cannot be the name of one node, or nil when it can.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a node name cannot be empty (TND 5: no URI ends in \"/\")" }
        if name == "." || name == ".." {
            return "\"\(name)\" is not a node name (TND 5: \"./\" only starts a URI, \"../\" never appears)"
        }
        if name.contains("/") { return "a node name cannot contain \"/\", the URI delimiter (TND 5)" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "a node name cannot contain control characters (TND 5 URIs are RFC 2396 URIs; RFC 2396 2.4.3)"
        }
        return nil
    }

    /// Why the relative `path` (names joined by "/") cannot address a node, or nil.
    public static func pathProblem(_ path: String) -> String? {
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            if let problem = problem(String(segment)) { return problem }
        }
        return nil
    }
}
