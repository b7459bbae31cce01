import Foundation

/// Every credential of a results database address, found by what dmboot
/// knows rather than by what libpq says: libpq echoes a URL it cannot parse
/// (`postgresql://line:S3cretPW@[::1/db`), a bad percent escape and a host
/// that holds an unencoded "@" in its messages, and a URL parser of ours
/// would give up on exactly those URLs. So the secrets are cut out of the
/// text by plain rules that hold for broken URLs too, and every message about
/// the database is passed through `redact`.
public struct CredentialRedactor: Sendable {
    /// The secret strings, longest first (so a secret that holds another is cut whole).
    private let secrets: [String]
    /// The password of the URL's userinfo, as written.
    let urlPassword: String?

    /// The key words of a libpq URL's query whose values are secrets.
    static let secretParameters: Set<String> = ["password", "sslpassword"]

    public init(url: String, password: String? = nil) {
        urlPassword = Self.userInfoPassword(in: url)
        var found = urlPassword.map { [$0] } ?? []
        found += Self.parameterValues(in: url)
        if let password { found.append(password) }
        var all = Set<String>()
        for secret in found where !secret.isEmpty {
            all.insert(secret)
            if let decoded = secret.removingPercentEncoding, !decoded.isEmpty { all.insert(decoded) }
        }
        secrets = all.sorted { $0.utf8.count > $1.utf8.count }
    }

    /// Whether the URL's userinfo gives a password.
    public var urlHasPassword: Bool { urlPassword != nil }

    /// Whether the password holds an unencoded "@": libpq ends the userinfo
    /// at the first one and takes the rest of the password for the host name.
    var passwordHoldsAt: Bool { urlPassword?.contains("@") ?? false }

    /// `text` with every known secret replaced by "***".
    public func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    /// After "user:" and up to the last "@" of the part before any "?": a
    /// password holding an unencoded "@" or "/" stays whole, and a URL that
    /// no parser takes still gives it.
    static func userInfoPassword(in url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let beforeQuery = rest[..<(rest.firstIndex(of: "?") ?? rest.endIndex)]
        guard let at = beforeQuery.lastIndex(of: "@") else { return nil }
        let userInfo = beforeQuery[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return nil }
        return String(userInfo[userInfo.index(after: colon)...])
    }

    /// The values of password= and sslpassword= in the query. A value runs
    /// on through the "&"-separated parts that hold no "=": an unencoded "&"
    /// in a password makes libpq report the rest as a parameter of its own.
    static func parameterValues(in url: String) -> [String] {
        guard let question = url.firstIndex(of: "?") else { return [] }
        let parts = url[url.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false)
        var values: [String] = []
        var index = parts.startIndex
        while index < parts.endIndex {
            let part = parts[index]
            index += 1
            guard let equals = part.firstIndex(of: "="),
                  secretParameters.contains(String(part[..<equals]).removingPercentEncoding ?? String(part[..<equals])) else { continue }
            var value = String(part[part.index(after: equals)...])
            while index < parts.endIndex, !parts[index].contains("=") {
                values.append(String(parts[index]))
                value += "&" + parts[index]
                index += 1
            }
            values.append(value)
        }
        return values
    }
}
