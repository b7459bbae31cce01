import CardCrypto
import Foundation

/// Opens a TLS connection to a bootstrap server with the credentials the
/// account holds, as the device will, and reports what was agreed. Keys go
/// from memory into OpenSSL and nowhere else.
public struct TLSProbe {
    /// Client cipher suites of the CR (OMA DM 1.3 session TLS security), in OpenSSL's names.
    public static let pskCipherSuites = [
        "PSK-AES128-GCM-SHA256", "DHE-PSK-AES128-GCM-SHA256", "RSA-PSK-AES128-GCM-SHA256", "PSK-AES128-CBC-SHA256",
        "DHE-PSK-AES128-CBC-SHA256", "RSA-PSK-AES128-CBC-SHA256", "ECDHE-PSK-AES128-CBC-SHA256",
    ]
    public static let x509CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256",
        "DHE-RSA-AES128-SHA256", "AES128-SHA256",
    ]

    /// The TLS 1.1 counterparts of those suites: every suite the CR lists is
    /// TLS 1.2-only (SHA-256 or GCM), so without these its TLS 1.1 floor could
    /// never be reached. Offered after the CR's suites.
    public static let pskTLS11CipherSuites = [
        "PSK-AES128-CBC-SHA", "DHE-PSK-AES128-CBC-SHA", "RSA-PSK-AES128-CBC-SHA", "ECDHE-PSK-AES128-CBC-SHA",
    ]
    public static let x509TLS11CipherSuites = ["ECDHE-ECDSA-AES128-SHA", "DHE-RSA-AES128-SHA", "AES128-SHA"]
    /// OpenSSL 3 allows TLS 1.1 only at security level 0, which also drops its
    /// key-size checks; dmboot puts back the one of level 2 (Debian's default)
    /// itself: the server's key and the ephemeral key give at least 112 bits.
    public static let minimumSecurityBits = 112

    /// The cipher list for `mode`: the CR's suites, then their TLS 1.1 counterparts, at security level 0.
    static func cipherList(for mode: BootstrapCredentials.Mode) -> String {
        let suites = mode == .psk ? pskCipherSuites + pskTLS11CipherSuites : x509CipherSuites + x509TLS11CipherSuites
        return (suites + ["@SECLEVEL=0"]).joined(separator: ":")
    }

    /// Whether `host` is an IPv4 or IPv6 literal: RFC 6066 section 3 forbids sending one as SNI.
    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    public var timeout: Double
    /// Extra trust anchors (PEM) beside the account's ServerPublicKeyPSKIdentity.
    public var caFile: String?

    public init(timeout: Double = 10, caFile: String? = nil) {
        self.timeout = timeout
        self.caFile = caFile
    }

    public struct Report: Sendable {
        public let host: String
        public let port: UInt16
        public let mode: BootstrapCredentials.Mode
        public let protocolVersion: String
        public let cipherSuite: String
        /// PSK mode: the identity hint the server sent. X.509 mode: the server certificate's subject.
        public let serverIdentity: String?
        public let serverIssuer: String?
    }

    public func check(_ credentials: BootstrapCredentials) throws -> Report {
        let (host, port) = try credentials.endpoint()
        let socket = try TCPConnection.open(host: host, port: port, timeout: timeout)
        defer { close(socket) }
        let session: TLSClientSession
        do {
            session = try TLSClientSession(configuration(credentials, host: host))
        } catch {
            throw Self.failure(error)
        }
        do {
            try session.handshake(over: socket)
        } catch {
            throw Self.classify(error, mode: credentials.mode)
        }
        if let weakness = Self.weakKey(session) {
            session.shutdown()
            throw ServerCheckError.weakKey(weakness)
        }
        var identity = session.pskIdentityHint
        var issuer: String?
        if credentials.mode == .x509, let peer = session.peerCertificate {
            identity = peer.subject
            issuer = peer.issuer
        }
        let report = Report(host: host, port: port, mode: credentials.mode, protocolVersion: session.protocolVersion,
                            cipherSuite: session.cipherSuite, serverIdentity: identity, serverIssuer: issuer)
        session.shutdown()
        return report
    }

    /// The CR's floor and suites, SNI unless `host` is an address literal,
    /// and in X.509 mode the account's server certificate as a trust anchor
    /// (the CR puts the server's own certificate in ServerPublicKeyPSKIdentity:
    /// a partial chain lets that leaf, or an intermediate, be the anchor) and
    /// `host` checked against the server's certificate.
    func configuration(_ credentials: BootstrapCredentials, host: String) -> TLSClientConfiguration {
        let authentication: TLSClientAuthentication
        switch credentials.mode {
        case .psk:
            authentication = .preSharedKey(identity: credentials.clientIdentity, key: credentials.clientSecret)
        case .x509:
            authentication = .certificate(TLSCertificateAuthentication(
                certificate: credentials.clientIdentity, privateKey: credentials.clientSecret,
                trustAnchors: credentials.serverIdentity.isEmpty ? [] : [credentials.serverIdentity], trustAnchorFile: caFile,
                acceptsPartialChain: true, expectedPeer: Self.isIPLiteral(host) ? .ipAddress(host) : .dnsName(host)))
        }
        return TLSClientConfiguration(minimumVersion: .tls1_1, maximumVersion: .tls1_2,
                                      cipherList: Self.cipherList(for: credentials.mode),
                                      serverName: Self.isIPLiteral(host) ? nil : host, authentication: authentication)
    }

    /// The set-up failure in the account's terms (which node holds what is wrong).
    static func failure(_ error: TLSClientError) -> ServerCheckError {
        switch error {
        case .openSSLFailure: return .handshakeFailed("\(error)")
        case .noCipherSuite: return .handshakeFailed("OpenSSL offers none of the CR's cipher suites")
        case .clientCertificateUnreadable: return .invalidCredential("ClientPublicKeyPSKIdentity is not a DER X.509 certificate")
        case .clientCertificateRefused: return .invalidCredential("OpenSSL refused the client certificate")
        case .privateKeyUnreadable: return .invalidCredential("ClientSecretKey is not a DER private key")
        case .privateKeyMismatch: return .invalidCredential("ClientSecretKey does not match the client certificate")
        case .trustAnchorUnreadable: return .invalidCredential("ServerPublicKeyPSKIdentity is not a DER X.509 certificate")
        case .trustAnchorRefused: return .invalidCredential("OpenSSL refused ServerPublicKeyPSKIdentity as a trust anchor")
        case .trustAnchorFileUnreadable(let path, _): return .invalidCredential("cannot load trust anchors from \(path)")
        case .peerNameRefused(let peer): return .hostNotCheckable("\(peer)")
        case .serverNameRefused(let name): return .serverNameNotSendable(name)
        }
    }

    /// Describes a server or ephemeral key weaker than `minimumSecurityBits`, or nil.
    static func weakKey(_ session: TLSClientSession) -> String? {
        if let bits = session.peerCertificate?.publicKeySecurityBits, bits < minimumSecurityBits {
            return "the server certificate's key gives \(bits) bits of security"
        }
        if let bits = session.peerEphemeralKeySecurityBits, bits < minimumSecurityBits {
            return "the server's ephemeral key gives \(bits) bits of security"
        }
        return nil
    }

    /// Names the failure from OpenSSL's reasons and the verify result.
    static func classify(_ failure: TLSHandshakeFailure, mode: BootstrapCredentials.Mode) -> ServerCheckError {
        let text = failure.reasons.joined(separator: "; ")
        if mode == .x509, let reason = failure.certificateVerifyError {
            return .certificateNotTrusted(reason: reason)
        }
        if text.contains("unsupported protocol") || text.contains("protocol version") || text.contains("wrong version number") {
            return .protocolTooOld(text)
        }
        if mode == .psk && (text.contains("decrypt error") || text.contains("bad record mac") || text.contains("illegal parameter")
            || text.contains("unknown psk identity")) {
            return .wrongPSK
        }
        return .handshakeFailed(text.isEmpty ? "the server closed the connection" : text)
    }
}

/// A TCP connection with a bound on how long connecting and reading may take.
enum TCPConnection {
    static func open(host: String, port: UInt16, timeout: Double) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw ServerCheckError.dnsFailure(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if fd >= 0 {
                var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
                if connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            }
            entry = current.pointee.ai_next
        }
        switch lastError {
        case ECONNREFUSED: throw ServerCheckError.connectionRefused(host: host, port: port)
        case EINPROGRESS, ETIMEDOUT, EAGAIN: throw ServerCheckError.timeout(host: host, port: port)
        default: throw ServerCheckError.connectionFailed(host: host, port: port, reason: String(cString: strerror(lastError)))
        }
    }
}
