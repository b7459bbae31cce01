import Foundation
import SecureChannel

/// The device's security policy for bootstraps (dmboot(1), POLICY FILE):
/// whether smartcard bootstrap is enabled at all (the CR's "security policy
/// to disable Smartcard bootstrap"), the weakest secure channel accepted,
/// and which DM servers may be installed.
public struct ProvisioningPolicy: Codable, Equatable, Sendable {
    public var smartcardBootstrap: Bool
    /// Lowest SCP03 level accepted for reading the card, hex ("33").
    public var minimumLevel: String
    /// Whether the card may be read without any secure channel.
    public var allowUnprotectedRead: Bool
    /// ServerIDs that may be installed; "*" matches any run of characters. Empty: any server.
    public var allowedServers: [String]
    /// Whether pushed bootstraps keyed only by an IMSI/ESN NETWORKID are accepted.
    public var allowLegacyNetworkID: Bool
    /// Whether a bootstrap with warnings (what the specifications leave open) is refused instead of installed.
    public var strict: Bool

    public init(smartcardBootstrap: Bool = true, minimumLevel: String = "33", allowUnprotectedRead: Bool = false,
                allowedServers: [String] = [], allowLegacyNetworkID: Bool = false, strict: Bool = false) {
        self.smartcardBootstrap = smartcardBootstrap
        self.minimumLevel = minimumLevel
        self.allowUnprotectedRead = allowUnprotectedRead
        self.allowedServers = allowedServers
        self.allowLegacyNetworkID = allowLegacyNetworkID
        self.strict = strict
    }

    enum CodingKeys: String, CodingKey {
        case smartcardBootstrap, minimumLevel, allowUnprotectedRead, allowedServers, allowLegacyNetworkID, strict
    }

    public init(from decoder: Decoder) throws {
        let defaults = ProvisioningPolicy()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        smartcardBootstrap = try container.decodeIfPresent(Bool.self, forKey: .smartcardBootstrap) ?? defaults.smartcardBootstrap
        minimumLevel = try container.decodeIfPresent(String.self, forKey: .minimumLevel) ?? defaults.minimumLevel
        allowUnprotectedRead = try container.decodeIfPresent(Bool.self, forKey: .allowUnprotectedRead) ?? false
        allowedServers = try container.decodeIfPresent([String].self, forKey: .allowedServers) ?? []
        allowLegacyNetworkID = try container.decodeIfPresent(Bool.self, forKey: .allowLegacyNetworkID) ?? false
        strict = try container.decodeIfPresent(Bool.self, forKey: .strict) ?? false
    }

    public static func load(path: String) throws -> ProvisioningPolicy {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PolicyError.unreadable(path: path, reason: error.localizedDescription)
        }
        do {
            let policy = try JSONDecoder().decode(ProvisioningPolicy.self, from: data)
            _ = try policy.minimumSecurityLevel()
            return policy
        } catch let error as PolicyError {
            throw error
        } catch {
            throw PolicyError.malformed(path: path, reason: "\(error)")
        }
    }

    public func minimumSecurityLevel() throws -> SecurityLevel {
        do {
            return try SecurityLevel(text: minimumLevel)
        } catch {
            throw PolicyError.malformed(path: "policy", reason: "minimumLevel: \(error)")
        }
    }

    /// Checks a planned read against the policy before the card is touched.
    public func checkRead(level: SecurityLevel?) throws {
        guard smartcardBootstrap else { throw PolicyError.smartcardBootstrapDisabled }
        guard let level else {
            guard allowUnprotectedRead else { throw PolicyError.unprotectedReadRefused }
            return
        }
        let minimum = try minimumSecurityLevel()
        guard level.covers(minimum) else { throw PolicyError.levelBelowMinimum(requested: level.hex, minimum: minimum.hex) }
    }

    /// The ServerIDs this policy does not allow, in the order given.
    public func refusedServers(_ serverIDs: [String]) -> [String] {
        guard !allowedServers.isEmpty else { return [] }
        return serverIDs.filter { id in !allowedServers.contains { Self.matches(id, pattern: $0) } }
    }

    static func matches(_ text: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return text == pattern }
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for part in parts.dropFirst().dropLast() {
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}

public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case smartcardBootstrapDisabled
    case levelBelowMinimum(requested: String, minimum: String)
    case unprotectedReadRefused
    case serversNotAllowed([String])

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read the policy file \(path): \(reason)"
        case .malformed(let path, let reason): return "the policy file \(path) is not valid: \(reason)"
        case .smartcardBootstrapDisabled:
            return "the policy disables smartcard bootstrap (smartcardBootstrap: false); the card was not read"
        case .levelBelowMinimum(let requested, let minimum):
            return "the policy requires secure-channel level \(minimum) at least; --level \(requested) is weaker"
        case .unprotectedReadRefused:
            return "the policy does not allow reading the card without a secure channel (allowUnprotectedRead: false)"
        case .serversNotAllowed(let servers):
            return "the policy does not allow installing the server(s) \(servers.joined(separator: ", ")); nothing was installed"
        }
    }
}
