import CardCrypto
import DMBootstrap
import Foundation

/// What ./DMAcc/<x>/Auth/Bootstrap holds (CR 12.2), as the TLS check needs it.
public struct BootstrapCredentials {
    public enum Mode: String, Sendable {
        case psk = "PSK"
        case x509 = "X509"
    }

    public var serverURI: String
    public var mode: Mode
    /// PSK mode: the PSK identity (UTF-8). X.509 mode: the client certificate (DER).
    public var clientIdentity: [UInt8]
    /// PSK mode: the server's PSK identity (hint). X.509 mode: the server's certificate or its CA (DER).
    public var serverIdentity: [UInt8]
    /// PSK mode: the PSK. X.509 mode: the client's private key (DER). Its own
    /// buffer, wiped when the last reference goes: no array copy outlives it.
    public var clientSecret: SecretBytes

    public init(serverURI: String, mode: Mode, clientIdentity: [UInt8], serverIdentity: [UInt8], clientSecret: SecretBytes) {
        self.serverURI = serverURI
        self.mode = mode
        self.clientIdentity = clientIdentity
        self.serverIdentity = serverIdentity
        self.clientSecret = clientSecret
    }

    /// The SecMode node's value, read as DMBootstrap's `SecurityMode` reads it:
    /// "PSK", "X509" or "X.509" in any case, or the LwM2M codes 0 and 2.
    public static func mode(from secMode: [UInt8]) throws -> Mode {
        switch SecurityMode(secMode: secMode) {
        case .psk: return .psk
        case .x509: return .x509
        case nil: throw ServerCheckError.unknownSecurityMode(SecurityMode.describe(secMode))
        }
    }

    /// Host and port of ServerURI: "https://host:port/...", "host:port", "host" or an IPv4 address (port 443).
    public func endpoint() throws -> (host: String, port: UInt16) {
        var text = serverURI.trimmingCharacters(in: .whitespacesAndNewlines)
        if let scheme = text.range(of: "://") { text = String(text[scheme.upperBound...]) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        if let at = text.lastIndex(of: "@") { text = String(text[text.index(after: at)...]) }
        var host = text
        var port: UInt16 = 443
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let value = UInt16(rest.dropFirst()) else { throw ServerCheckError.invalidServerURI(serverURI) }
                port = value
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            guard let value = UInt16(text[text.index(after: colon)...]), value > 0 else {
                throw ServerCheckError.invalidServerURI(serverURI)
            }
            port = value
        }
        guard !host.isEmpty else { throw ServerCheckError.invalidServerURI(serverURI) }
        return (host, port)
    }
}

public enum ServerCheckError: Error, Equatable, CustomStringConvertible {
    case unknownSecurityMode(String)
    case invalidServerURI(String)
    case missingNode(String)
    case dnsFailure(host: String, reason: String)
    case connectionRefused(host: String, port: UInt16)
    case connectionFailed(host: String, port: UInt16, reason: String)
    case timeout(host: String, port: UInt16)
    case wrongPSK
    case certificateNotTrusted(reason: String)
    case protocolTooOld(String)
    case handshakeFailed(String)
    case invalidCredential(String)
    case weakKey(String)
    /// OpenSSL would not check the server's certificate against the ServerURI's host: no handshake was started.
    case hostNotCheckable(String)
    /// OpenSSL would not send the ServerURI's host as the TLS server name (SNI): no handshake was started.
    case serverNameNotSendable(String)

    public var description: String {
        switch self {
        case .unknownSecurityMode(let mode): return "SecMode \(mode) is none of PSK, X509, X.509 or the LwM2M codes 0 and 2"
        case .invalidServerURI(let uri): return "ServerURI \"\(uri)\" names no host and port"
        case .missingNode(let path): return "the account has no \(path); it cannot be checked"
        case .dnsFailure(let host, let reason): return "cannot resolve \(host): \(reason)"
        case .connectionRefused(let host, let port): return "\(host):\(port) refused the connection: no server listens there"
        case .connectionFailed(let host, let port, let reason): return "cannot connect to \(host):\(port): \(reason)"
        case .timeout(let host, let port): return "\(host):\(port) did not answer in time"
        case .wrongPSK:
            return "the server rejected the PSK handshake: the PSK or its identity is not the one the server has for this device"
        case .certificateNotTrusted(let reason):
            return "the server's certificate is not trusted (\(reason)); check ServerPublicKeyPSKIdentity or --ca-file"
        case .protocolTooOld(let detail):
            return "the server offers only a protocol older than TLS 1.1, which the CR does not allow (\(detail))"
        case .handshakeFailed(let reason): return "the TLS handshake failed: \(reason)"
        case .invalidCredential(let reason): return "the account's bootstrap credentials cannot be used: \(reason)"
        case .hostNotCheckable(let host):
            return "OpenSSL cannot check the server's certificate against \(host) from ServerURI; the TLS handshake was not started"
        case .serverNameNotSendable(let host):
            return "OpenSSL cannot send \(host) from ServerURI as the TLS server name; the TLS handshake was not started"
        case .weakKey(let detail):
            return "\(detail); dmboot requires \(TLSProbe.minimumSecurityBits) (see dmboot(1), check-server); the connection was closed"
        }
    }
}
