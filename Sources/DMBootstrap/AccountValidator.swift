import Foundation

/// Checks accounts against the DMAcc object (DM 1.2 DMStdObj), the CR's
/// Auth/Bootstrap nodes and TND's node names, and names every problem at
/// once, so one run of a broken bootstrap tells the whole story.
///
/// Errors are what a specification requires; where the specifications are
/// silent or loose, a problem is a warning: reported by every command, and
/// refused only under a strict policy (`validate(_:strict:)`).
public struct AccountValidator: Sendable {
    public static let addressTypes: Set<String> = ["URI", "IPv4", "IPv6", "E164", "ALPHA"]
    public static let authenticationLevels: Set<String> = ["SRVCRED", "CLCRED", "OBEX"]
    public static let authenticationTypes: Set<String> = [
        "HTTP-BASIC", "HTTP-DIGEST", "BASIC", "DIGEST", "HMAC", "X509", "SECURID", "SAFEWORD", "DIGIPASS", "TRANSPORT",
    ]

    public init() {}

    public func problems(in accounts: [DMAccount]) -> [AccountProblem] {
        var problems = accounts.flatMap(problems(in:))
        var seenIDs: [String: String] = [:]
        var seenNames: Set<String> = []
        for account in accounts {
            if !seenNames.insert(account.name).inserted {
                problems.append(AccountProblem(account: account.name, path: "",
                                               problem: "two bootstrap objects define this account; installing both would overwrite one with the other"))
            }
            guard let id = account.serverID, !id.isEmpty else { continue }
            if let first = seenIDs[id], first != account.name {
                problems.append(AccountProblem(account: account.name, path: "ServerID",
                                               problem: "\"\(id)\" is also the ServerID of \(first); ServerIDs are unique"))
            }
            seenIDs[id] = account.name
        }
        return problems
    }

    /// Throws one error that lists every error of every account; under
    /// `strict`, warnings are refused too. Returns the warnings to show.
    /// Problems of the nodes in `excused` (./DMAcc paths a caller knowingly
    /// restores empty, as `tree import --allow-missing-secrets`) do not count.
    @discardableResult
    public func validate(_ bootstrap: DecodedBootstrap, strict: Bool = false, excused: Set<String> = []) throws -> [AccountProblem] {
        guard !bootstrap.accounts.isEmpty else { throw BootstrapError.noAccounts }
        let found = problems(in: bootstrap.accounts).filter { !excused.contains("./DMAcc/\($0.account)/\($0.path)") }
        let errors = found.filter { $0.severity == .error }
        guard errors.isEmpty else { throw BootstrapError.invalidAccounts(errors) }
        let warnings = found.filter { $0.severity == .warning }
        if strict && !warnings.isEmpty { throw BootstrapError.refusedWarnings(warnings) }
        return warnings
    }

    /// The account's name and every node path against TND's naming rules: the
    /// check the tree store repeats before it writes anything.
    public static func nameProblems(in account: DMAccount) -> [AccountProblem] {
        var problems: [AccountProblem] = []
        if let problem = NodeName.problem(account.name) {
            problems.append(AccountProblem(account: account.name, path: "", problem: "account name: \(problem)"))
        }
        for node in account.nodes {
            if let problem = NodeName.pathProblem(node.path) {
                problems.append(AccountProblem(account: account.name, path: node.path, problem: problem))
            }
        }
        return problems
    }

    /// The ServerID, which the tree writes into the ACL of every node of the
    /// account: it must be a `<server-identifier>` of TND 7.7.1.5, or it would
    /// add entries of its own to those ACLs (`evil&Get=*`). Checked on every
    /// way in (card, push, import, decode) and again by the tree store.
    public static func serverIDProblems(in account: DMAccount) -> [AccountProblem] {
        guard let id = account.serverID, !id.isEmpty else {
            return [AccountProblem(account: account.name, path: "ServerID", problem: "missing: every DM account names its server")]
        }
        return DMACL.ServerIdentifier.problem(id).map { [AccountProblem(account: account.name, path: "ServerID", problem: $0)] } ?? []
    }

    public func problems(in account: DMAccount) -> [AccountProblem] {
        var problems = Self.nameProblems(in: account)
        func report(_ path: String, _ problem: String) {
            problems.append(AccountProblem(account: account.name, path: path, problem: problem))
        }
        func warn(_ path: String, _ problem: String) {
            problems.append(AccountProblem(account: account.name, path: path, problem: problem, severity: .warning))
        }
        if let appID = account.text("AppID"), appID != "w7" { report("AppID", "is \"\(appID)\", not w7") }
        problems += Self.serverIDProblems(in: account)
        let addresses = account.instances(of: "AppAddr")
        if addresses.isEmpty { report("AppAddr", "missing: the account gives no server address") }
        for address in addresses {
            let base = "AppAddr/\(address)"
            let type = account.text("\(base)/AddrType") ?? "URI"
            if !Self.addressTypes.contains(type) { report("\(base)/AddrType", "\"\(type)\" is not URI, IPv4, IPv6, E164 or ALPHA") }
            guard let addr = account.text("\(base)/Addr"), !addr.isEmpty else {
                report("\(base)/Addr", "missing")
                continue
            }
            if let reason = Self.addressProblem(addr, type: type) { report("\(base)/Addr", reason) }
            for port in account.instances(of: "\(base)/Port") {
                let path = "\(base)/Port/\(port)/PortNbr"
                guard let node = account.node(path) else { continue }
                let text = node.text ?? ""
                let number = text.allSatisfy(\.isASCII) ? Int(text.trimmed) : nil
                switch node.format {
                case .int: break
                case .chr where number != nil:
                    warn(path, "format is chr, not int (DMStdObj); read as the number \(number!)")
                default:
                    report(path, "format is \(node.format.rawValue), not int")
                    continue
                }
                if !(number.map { (1...65_535).contains($0) } ?? false) { report(path, "\"\(text)\" is not a port number 1-65535") }
            }
        }
        if let preference = account.text("AAuthPref"), !Self.authenticationTypes.contains(preference) {
            report("AAuthPref", "\"\(preference)\" is not an AAuthType")
        }
        for auth in account.instances(of: "AppAuth") {
            let base = "AppAuth/\(auth)"
            if let level = account.text("\(base)/AAuthLevel") {
                if !Self.authenticationLevels.contains(level) { report("\(base)/AAuthLevel", "\"\(level)\" is not SRVCRED, CLCRED or OBEX") }
            } else {
                report("\(base)/AAuthLevel", "missing")
            }
            if let type = account.text("\(base)/AAuthType") {
                if !Self.authenticationTypes.contains(type) { report("\(base)/AAuthType", "\"\(type)\" is not a known AAuthType") }
            } else if account.source == .clientProvisioning {
                warn("\(base)/AAuthType", "missing: w7 makes AAUTHTYPE optional, DMStdObj requires AAuthType; the client must pick one")
            } else {
                report("\(base)/AAuthType", "missing")
            }
        }
        if account.node("Auth/Bootstrap") != nil { checkBootstrapAuthentication(account, report: report, warn: warn) }
        return problems
    }

    private func checkBootstrapAuthentication(_ account: DMAccount, report: (String, String) -> Void, warn: (String, String) -> Void) {
        let base = "Auth/Bootstrap"
        for leaf in ["ServerURI", "SecMode", "ClientPublicKeyPSKIdentity", "ServerPublicKeyPSKIdentity", "ClientSecretKey"]
        where account.node("\(base)/\(leaf)") == nil {
            report("\(base)/\(leaf)", "missing: the CR makes it required under Auth/Bootstrap")
        }
        if let uri = account.text("\(base)/ServerURI"), Self.addressProblem(uri, type: "URI") != nil,
           Self.addressProblem(uri, type: "IPv4") != nil {
            report("\(base)/ServerURI", "\"\(uri)\" is neither a URI nor an IPv4 address")
        }
        guard let secMode = account.node("\(base)/SecMode")?.value else { return }
        guard let mode = SecurityMode(secMode: secMode) else {
            warn("\(base)/SecMode", "\(SecurityMode.describe(secMode)) is none of PSK, X509, X.509 or the LwM2M codes 0 and 2 (the CR gives no encoding)")
            return
        }
        let secret = account.node("\(base)/ClientSecretKey")?.value ?? []
        let identity = account.node("\(base)/ClientPublicKeyPSKIdentity")?.value ?? []
        switch mode {
        case .psk:
            if secret.isEmpty { report("\(base)/ClientSecretKey", "PSK mode without a key") }
            if String(validating: identity, as: UTF8.self) == nil || identity.isEmpty {
                report("\(base)/ClientPublicKeyPSKIdentity", "a PSK identity is a non-empty UTF-8 string (RFC 4279)")
            } else if identity.count > 65_535 {
                report("\(base)/ClientPublicKeyPSKIdentity", "a PSK identity is at most 65535 bytes (RFC 4279)")
            }
        case .x509:
            if identity.first != 0x30 { report("\(base)/ClientPublicKeyPSKIdentity", "X.509 mode needs a DER certificate (a SEQUENCE)") }
            if secret.isEmpty { report("\(base)/ClientSecretKey", "X.509 mode without a private key") }
        }
    }
    /// Why `address` is not valid for `type`, or nil when it is.
    static func addressProblem(_ address: String, type: String) -> String? {
        switch type {
        case "URI":
            guard let url = URL(string: address), let scheme = url.scheme, !scheme.isEmpty,
                  url.host.map({ !$0.isEmpty }) ?? false else {
                return "\"\(address)\" is not an absolute URI with a host"
            }
            return nil
        case "IPv4":
            var storage = in_addr()
            return inet_pton(AF_INET, address, &storage) == 1 ? nil : "\"\(address)\" is not an IPv4 address"
        case "IPv6":
            var storage = in6_addr()
            return inet_pton(AF_INET6, address, &storage) == 1 ? nil : "\"\(address)\" is not an IPv6 address"
        case "E164":
            let digits = address.hasPrefix("+") ? String(address.dropFirst()) : address
            return !digits.isEmpty && digits.count <= 15 && digits.allSatisfy(\.isNumber) ? nil : "\"\(address)\" is not an E.164 number"
        default:
            return nil
        }
    }
}
