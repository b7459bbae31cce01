/// A path's folder and a name within a folder, by plain byte rules.
///
/// Foundation's `NSString.deletingLastPathComponent` traps on a one-character
/// relative path ("a", ".", "x/"), so dmboot ended with "Illegal instruction"
/// for `--tree a`. These rules have no such case: every string has an answer.
/// They look at UTF-8 bytes, as the kernel does: a "/" followed by a combining
/// mark is one Swift Character, but still a separator in a path.
public enum PathText {
    private static let slash = UInt8(ascii: "/")

    /// The folder that holds `path`: "" for a bare name in the current folder,
    /// "/" for a name at the root. Trailing slashes do not count ("a/b/" is
    /// "b" in "a"), and repeated slashes between folder and name are one.
    public static func folder(of path: String) -> String {
        var bytes = Array(path.utf8)[...]
        while bytes.count > 1, bytes.last == slash { bytes = bytes.dropLast() }
        guard let index = bytes.lastIndex(of: slash) else { return "" }
        var folder = bytes[..<index]
        while folder.last == slash { folder = folder.dropLast() }
        return folder.isEmpty ? "/" : String(decoding: folder, as: UTF8.self)
    }

    /// `name` inside `folder`; an absolute `name` stands for itself, and an
    /// empty folder is the current one.
    public static func joining(_ folder: String, _ name: String) -> String {
        if name.utf8.first == slash || folder.isEmpty { return name }
        return folder.utf8.last == slash ? folder + name : folder + "/" + name
    }
}
