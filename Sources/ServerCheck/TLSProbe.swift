import CardCrypto
import COpenSSL
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
    public static let minimumSecurityBits: Int32 = 112

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
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw ServerCheckError.handshakeFailed("SSL_CTX_new") }
        defer { SSL_CTX_free(context) }
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_1_VERSION), nil)
        SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard SSL_CTX_set_cipher_list(context, Self.cipherList(for: credentials.mode)) == 1 else {
            throw ServerCheckError.handshakeFailed("OpenSSL offers none of the CR's cipher suites")
        }
        guard let ssl = SSL_new(context) else { throw ServerCheckError.handshakeFailed("SSL_new") }
        defer { SSL_free(ssl) }
        let box = PSKBox(identity: credentials.clientIdentity, key: credentials.clientSecret)
        defer { box.wipe() }
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        switch credentials.mode {
        case .psk:
            SSL_set_ex_data(ssl, 0, unmanaged.toOpaque())
            SSL_set_psk_client_callback(ssl, pskCallback)
        case .x509:
            try configureCertificates(ssl: ssl, context: context, credentials: credentials, host: host)
        }
        if !Self.isIPLiteral(host) {
            host.withCString { name in
                _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: name))
            }
        }
        SSL_set_fd(ssl, socket)
        ERR_clear_error()
        if SSL_connect(ssl) != 1 {
            throw classifyFailure(ssl: ssl, mode: credentials.mode)
        }
        if let weakness = Self.weakKey(ssl) {
            SSL_shutdown(ssl)
            throw ServerCheckError.weakKey(weakness)
        }
        let version = String(cString: SSL_get_version(ssl))
        let cipher = String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)))
        var identity: String? = box.hint
        var issuer: String?
        if credentials.mode == .x509, let peer = SSL_get1_peer_certificate(ssl) {
            identity = Self.name(X509_get_subject_name(peer))
            issuer = Self.name(X509_get_issuer_name(peer))
            X509_free(peer)
        }
        SSL_shutdown(ssl)
        return Report(host: host, port: port, mode: credentials.mode, protocolVersion: version, cipherSuite: cipher,
                      serverIdentity: identity, serverIssuer: issuer)
    }

    private func configureCertificates(ssl: OpaquePointer, context: OpaquePointer, credentials: BootstrapCredentials, host: String) throws {
        let certificate = try Self.certificate(credentials.clientIdentity, what: "ClientPublicKeyPSKIdentity")
        defer { X509_free(certificate) }
        guard SSL_use_certificate(ssl, certificate) == 1 else {
            throw ServerCheckError.invalidCredential("OpenSSL refused the client certificate")
        }
        let key = credentials.clientSecret.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &pointer, buffer.count)
        }
        guard let key else { throw ServerCheckError.invalidCredential("ClientSecretKey is not a DER private key") }
        defer { EVP_PKEY_free(key) }
        guard SSL_use_PrivateKey(ssl, key) == 1, SSL_check_private_key(ssl) == 1 else {
            throw ServerCheckError.invalidCredential("ClientSecretKey does not match the client certificate")
        }
        let store = SSL_CTX_get_cert_store(context)
        if !credentials.serverIdentity.isEmpty {
            let anchor = try Self.certificate(credentials.serverIdentity, what: "ServerPublicKeyPSKIdentity")
            defer { X509_free(anchor) }
            guard X509_STORE_add_cert(store, anchor) == 1 else {
                ERR_clear_error()
                throw ServerCheckError.invalidCredential("OpenSSL refused ServerPublicKeyPSKIdentity as a trust anchor")
            }
        }
        if let caFile, SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
            throw ServerCheckError.invalidCredential("cannot load trust anchors from \(caFile)")
        }
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        // The CR puts the server's own certificate in ServerPublicKeyPSKIdentity:
        // a partial chain lets that leaf (or an intermediate) be the trust anchor.
        X509_VERIFY_PARAM_set_flags(SSL_get0_param(ssl), UInt(X509_V_FLAG_PARTIAL_CHAIN))
        // Host-name checking must never be silently off: a refused name or
        // address ends the probe before any byte is sent.
        let checksName = Self.isIPLiteral(host)
            ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
            : SSL_set1_host(ssl, host) == 1
        guard checksName else {
            ERR_clear_error()
            throw ServerCheckError.invalidServerURI("OpenSSL cannot check the server's certificate against \(host)")
        }
    }

    /// Describes a server or ephemeral key weaker than `minimumSecurityBits`, or nil.
    static func weakKey(_ ssl: OpaquePointer) -> String? {
        if let peer = SSL_get1_peer_certificate(ssl) {
            defer { X509_free(peer) }
            if let key = X509_get0_pubkey(peer), EVP_PKEY_get_security_bits(key) < minimumSecurityBits {
                return "the server certificate's key gives \(EVP_PKEY_get_security_bits(key)) bits of security"
            }
        }
        var ephemeral: OpaquePointer?
        if SSL_ctrl(ssl, SSL_CTRL_GET_PEER_TMP_KEY, 0, &ephemeral) == 1, let key = ephemeral {
            defer { EVP_PKEY_free(key) }
            if EVP_PKEY_get_security_bits(key) < minimumSecurityBits {
                return "the server's ephemeral key gives \(EVP_PKEY_get_security_bits(key)) bits of security"
            }
        }
        return nil
    }

    static func certificate(_ der: [UInt8], what: String) throws -> OpaquePointer {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &pointer, buffer.count)
        }
        guard let parsed else { throw ServerCheckError.invalidCredential("\(what) is not a DER X.509 certificate") }
        return parsed
    }

    static func name(_ name: OpaquePointer?) -> String? {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return nil }
        defer { CRYPTO_free(text, #fileID, #line) }
        return String(cString: text)
    }

    /// Names the failure from OpenSSL's error queue and the verify result.
    private func classifyFailure(ssl: OpaquePointer, mode: BootstrapCredentials.Mode) -> ServerCheckError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            if let reason = ERR_reason_error_string(code) { reasons.append(String(cString: reason)) }
        }
        let text = reasons.joined(separator: "; ")
        let verify = SSL_get_verify_result(ssl)
        if mode == .x509 && verify != X509_V_OK {
            return .certificateNotTrusted(reason: String(cString: X509_verify_cert_error_string(verify)))
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

/// The PSK identity and key, handed to OpenSSL's callback through the SSL's ex_data.
final class PSKBox {
    var identity: [UInt8]
    /// In its own buffer: zeroing a copy-on-write array would zero a copy.
    let key: SecretBytes
    var hint: String?

    init(identity: [UInt8], key: [UInt8]) {
        self.identity = identity
        self.key = SecretBytes(key)
    }

    func wipe() {
        key.wipe()
    }
}

private let pskCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UInt32,
                                          UnsafeMutablePointer<UInt8>?, UInt32) -> UInt32 = { ssl, hint, identity, maxIdentity, psk, maxPSK in
    guard let ssl, let raw = SSL_get_ex_data(ssl, 0), let identity, let psk else { return 0 }
    let box = Unmanaged<PSKBox>.fromOpaque(raw).takeUnretainedValue()
    if let hint { box.hint = String(cString: hint) }
    guard box.identity.count < Int(maxIdentity), box.key.count <= Int(maxPSK), box.key.count > 0 else { return 0 }
    box.identity.withUnsafeBytes { bytes in
        identity.withMemoryRebound(to: UInt8.self, capacity: Int(maxIdentity)) { target in
            target.update(from: bytes.bindMemory(to: UInt8.self).baseAddress!, count: bytes.count)
            target[bytes.count] = 0
        }
    }
    box.key.withBytes { key in psk.update(from: key.baseAddress!, count: key.count) }
    return UInt32(box.key.count)
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
