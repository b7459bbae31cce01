import COpenSSL

/// A TLS protocol version a client session may negotiate.
public enum TLSProtocolVersion: Sendable {
    case tls1_1, tls1_2

    var openSSLValue: Int {
        switch self {
        case .tls1_1: return Int(TLS1_1_VERSION)
        case .tls1_2: return Int(TLS1_2_VERSION)
        }
    }
}

/// The identity the server's certificate must carry: RFC 6125 name matching
/// for a DNS name, an exact iPAddress subjectAltName for an address literal.
public enum TLSPeerName: Sendable, Equatable, CustomStringConvertible {
    case dnsName(String)
    case ipAddress(String)

    /// Printable whatever bytes the name holds (it comes from card data).
    public var description: String {
        switch self {
        case .dnsName(let name), .ipAddress(let name): return TLSClientError.printable(name)
        }
    }
}

/// How the client proves itself and judges the server.
public enum TLSClientAuthentication: Sendable {
    /// A pre-shared key (RFC 4279): the identity is sent, the key never leaves
    /// OpenSSL's callback buffer.
    case preSharedKey(identity: [UInt8], key: SecretBytes)
    case certificate(TLSCertificateAuthentication)
}

/// X.509 client authentication and the rules the server's chain must meet.
public struct TLSCertificateAuthentication: Sendable {
    /// The client certificate, DER.
    public var certificate: [UInt8]
    /// The client's private key, DER (PKCS#8 or the key type's own form).
    public var privateKey: SecretBytes
    /// Certificates (DER) the server's chain may end in.
    public var trustAnchors: [[UInt8]]
    /// A PEM file of further trust anchors.
    public var trustAnchorFile: String?
    /// Lets a trust anchor be the server's own leaf or an intermediate: pinning.
    public var acceptsPartialChain: Bool
    /// Checked against the server's certificate; there is no way to turn the check off.
    public var expectedPeer: TLSPeerName

    public init(certificate: [UInt8], privateKey: SecretBytes, trustAnchors: [[UInt8]], trustAnchorFile: String?,
                acceptsPartialChain: Bool, expectedPeer: TLSPeerName) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustAnchors = trustAnchors
        self.trustAnchorFile = trustAnchorFile
        self.acceptsPartialChain = acceptsPartialChain
        self.expectedPeer = expectedPeer
    }
}

/// Everything a client session is set up with before its first byte is sent.
public struct TLSClientConfiguration: Sendable {
    public var minimumVersion: TLSProtocolVersion
    public var maximumVersion: TLSProtocolVersion
    /// An OpenSSL cipher list (TLS 1.2 and older), security level included.
    public var cipherList: String
    /// Sent as Server Name Indication; nil sends none (RFC 6066 forbids address literals there).
    public var serverName: String?
    public var authentication: TLSClientAuthentication

    public init(minimumVersion: TLSProtocolVersion, maximumVersion: TLSProtocolVersion, cipherList: String,
                serverName: String?, authentication: TLSClientAuthentication) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.cipherList = cipherList
        self.serverName = serverName
        self.authentication = authentication
    }
}

/// What OpenSSL said when the handshake failed, read as it failed.
public struct TLSHandshakeFailure: Error, Equatable, Sendable {
    /// OpenSSL's reason strings ("tlsv1 alert unknown psk identity"), oldest first.
    public let reasons: [String]
    /// Why the server's chain was refused, when it was.
    public let certificateVerifyError: String?
}

/// The server's leaf certificate, read out of OpenSSL (which keeps no reference to it).
public struct TLSPeerCertificate: Sendable, Equatable {
    /// OpenSSL's one-line form ("/CN=bootstrap.example.com").
    public let subject: String?
    public let issuer: String?
    /// The strength of its public key in bits (NIST SP 800-57 comparable strength) as OpenSSL rates it
    /// (0 or less when it cannot); nil without a public key.
    public let publicKeySecurityBits: Int?
}

/// One TLS client connection over a socket the caller opened and closes.
/// The SSL_CTX, the SSL and every certificate and key given to them are
/// freed with this object, on the paths that fail too (the initializer
/// throws only once every property is set, so `deinit` runs).
///
/// Every OpenSSL call that arms a check is itself checked: a refused host
/// name, address or server name ends the set-up with an error; no
/// connection exists in which the check is quietly missing.
public final class TLSClientSession {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    /// Owned here and lent to OpenSSL's PSK callback through the SSL's app data.
    private let preSharedKey: PreSharedKeyContext?

    public init(_ configuration: TLSClientConfiguration) throws(TLSClientError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .openSSL("SSL_CTX_new") }
        guard let ssl = SSL_new(context) else {
            let error = TLSClientError.openSSL("SSL_new")
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.ssl = ssl
        if case .preSharedKey(let identity, let key) = configuration.authentication {
            preSharedKey = PreSharedKeyContext(identity: identity, key: key)
        } else {
            preSharedKey = nil
        }
        try configure(configuration)
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    private func configure(_ configuration: TLSClientConfiguration) throws(TLSClientError) {
        // SSL_set_min_proto_version and SSL_set_max_proto_version are macros over SSL_ctrl.
        guard SSL_ctrl(ssl, SSL_CTRL_SET_MIN_PROTO_VERSION, configuration.minimumVersion.openSSLValue, nil) == 1,
              SSL_ctrl(ssl, SSL_CTRL_SET_MAX_PROTO_VERSION, configuration.maximumVersion.openSSLValue, nil) == 1 else {
            throw .openSSL("SSL_set_min/max_proto_version")
        }
        guard SSL_set_cipher_list(ssl, configuration.cipherList) == 1 else {
            ERR_clear_error()
            throw .noCipherSuite(configuration.cipherList)
        }
        switch configuration.authentication {
        case .preSharedKey:
            guard let preSharedKey, SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(preSharedKey).toOpaque()) == 1 else {
                throw .openSSL("SSL_set_ex_data")
            }
            SSL_set_psk_client_callback(ssl, pskClientCallback)
        case .certificate(let authentication):
            try configure(authentication)
        }
        if let name = configuration.serverName {
            guard Self.setServerName(ssl, name) else {
                ERR_clear_error()
                throw .serverNameRefused(TLSClientError.printable(name))
            }
        }
    }

    private func configure(_ authentication: TLSCertificateAuthentication) throws(TLSClientError) {
        let certificate = try X509Handle(der: authentication.certificate, orThrow: .clientCertificateUnreadable)
        guard SSL_use_certificate(ssl, certificate.pointer) == 1 else {
            throw .clientCertificateRefused(detail: CryptoError.drainOpenSSLErrors())
        }
        let key = authentication.privateKey.withBytes { bytes -> OpaquePointer? in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return d2i_AutoPrivateKey(nil, &pointer, bytes.count)
        }
        guard let key else {
            ERR_clear_error()
            throw .privateKeyUnreadable
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_use_PrivateKey(ssl, key) == 1, SSL_check_private_key(ssl) == 1 else {
            ERR_clear_error()
            throw .privateKeyMismatch
        }
        let store = SSL_CTX_get_cert_store(context)
        for (index, der) in authentication.trustAnchors.enumerated() {
            let anchor = try X509Handle(der: der, orThrow: .trustAnchorUnreadable(index: index))
            guard X509_STORE_add_cert(store, anchor.pointer) == 1 else {
                throw .trustAnchorRefused(index: index, detail: CryptoError.drainOpenSSLErrors())
            }
        }
        if let file = authentication.trustAnchorFile, SSL_CTX_load_verify_locations(context, file, nil) != 1 {
            throw .trustAnchorFileUnreadable(path: file, detail: CryptoError.drainOpenSSLErrors())
        }
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        let parameters = SSL_get0_param(ssl)
        if authentication.acceptsPartialChain {
            guard X509_VERIFY_PARAM_set_flags(parameters, UInt(X509_V_FLAG_PARTIAL_CHAIN)) == 1 else {
                throw .openSSL("X509_VERIFY_PARAM_set_flags")
            }
        }
        guard Self.expect(authentication.expectedPeer, in: parameters) else {
            ERR_clear_error()
            throw .peerNameRefused(authentication.expectedPeer)
        }
    }

    /// Arms the name check. The DNS name goes with its length, so OpenSSL
    /// itself refuses one with an embedded NUL (x509_vpm.c) instead of
    /// checking the part before it; an empty name is refused here, as OpenSSL
    /// would take it as "no name" and check nothing. An address literal has
    /// no length argument, so one holding a NUL is refused before OpenSSL
    /// could read a shorter address.
    private static func expect(_ peer: TLSPeerName, in parameters: OpaquePointer?) -> Bool {
        switch peer {
        case .dnsName(let name):
            guard !name.isEmpty else { return false }
            return Array(name.utf8).withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    X509_VERIFY_PARAM_set1_host(parameters, $0.baseAddress, $0.count) == 1
                }
            }
        case .ipAddress(let address):
            guard !address.utf8.contains(0) else { return false }
            return X509_VERIFY_PARAM_set1_ip_asc(parameters, address) == 1
        }
    }

    /// SSL_set_tlsext_host_name (a macro Swift does not import). OpenSSL
    /// refuses an empty name and one longer than 255 bytes; a NUL would cut
    /// the name short, so it is refused here.
    private static func setServerName(_ ssl: OpaquePointer, _ name: String) -> Bool {
        guard !name.utf8.contains(0) else { return false }
        return name.withCString { text in
            SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: text)) == 1
        }
    }

    /// Runs the handshake on `socket`, which stays the caller's to close.
    public func handshake(over socket: Int32) throws(TLSHandshakeFailure) {
        ERR_clear_error()
        guard SSL_set_fd(ssl, socket) == 1 else {
            throw TLSHandshakeFailure(reasons: Self.drainReasons(), certificateVerifyError: nil)
        }
        guard SSL_connect(ssl) == 1 else {
            let reasons = Self.drainReasons()
            let verify = SSL_get_verify_result(ssl)
            throw TLSHandshakeFailure(reasons: reasons,
                                      certificateVerifyError: verify == X509_V_OK ? nil : String(cString: X509_verify_cert_error_string(verify)))
        }
    }

    /// "TLSv1.2", once the handshake is done.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The agreed suite in OpenSSL's naming, once the handshake is done.
    public var cipherSuite: String {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "(none)" }
        return String(cString: name)
    }

    /// The PSK identity hint the server sent, if it sent one.
    public var pskIdentityHint: String? { preSharedKey?.hint }

    public var peerCertificate: TLSPeerCertificate? {
        guard let peer = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(peer) }
        return TLSPeerCertificate(subject: Self.oneLine(X509_get_subject_name(peer)),
                                  issuer: Self.oneLine(X509_get_issuer_name(peer)),
                                  publicKeySecurityBits: X509_get0_pubkey(peer).map { Int(EVP_PKEY_get_security_bits($0)) })
    }

    /// The strength of the server's ephemeral (EC)DH key, if one was used.
    public var peerEphemeralKeySecurityBits: Int? {
        var key: OpaquePointer?
        guard SSL_ctrl(ssl, SSL_CTRL_GET_PEER_TMP_KEY, 0, &key) == 1, let key else { return nil }
        defer { EVP_PKEY_free(key) }
        return Int(EVP_PKEY_get_security_bits(key))
    }

    /// Sends close_notify; the socket stays open.
    public func shutdown() {
        SSL_shutdown(ssl)
        ERR_clear_error()
    }

    private static func oneLine(_ name: OpaquePointer?) -> String? {
        guard let name, let text = X509_NAME_oneline(name, nil, 0) else { return nil }
        defer { CRYPTO_free(text, #fileID, #line) }
        return String(cString: text)
    }

    /// The reason strings of this thread's error queue, which is left empty.
    private static func drainReasons() -> [String] {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            if let reason = ERR_reason_error_string(code) { reasons.append(String(cString: reason)) }
        }
        return reasons
    }
}

/// An X509 parsed from DER, freed when this goes (OpenSSL takes its own references).
private final class X509Handle {
    let pointer: OpaquePointer

    init(der: [UInt8], orThrow error: TLSClientError) throws(TLSClientError) {
        let parsed = der.withUnsafeBufferPointer { bytes -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = bytes.baseAddress
            return d2i_X509(nil, &cursor, bytes.count)
        }
        guard let parsed else {
            ERR_clear_error()
            throw error
        }
        pointer = parsed
    }

    deinit { X509_free(pointer) }
}

/// The PSK identity and key for OpenSSL's callback, and the hint it hands back.
private final class PreSharedKeyContext {
    let identity: [UInt8]
    let key: SecretBytes
    var hint: String?

    init(identity: [UInt8], key: SecretBytes) {
        self.identity = identity
        self.key = key
    }
}

/// Copies the identity (NUL-terminated) and the key into OpenSSL's buffers;
/// 0 (no PSK) aborts the handshake when either does not fit.
private let pskClientCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UInt32,
                                                UnsafeMutablePointer<UInt8>?, UInt32) -> UInt32 = { ssl, hint, identity, maxIdentity, psk, maxPSK in
    guard let ssl, let raw = SSL_get_ex_data(ssl, 0), let identity, let psk else { return 0 }
    let context = Unmanaged<PreSharedKeyContext>.fromOpaque(raw).takeUnretainedValue()
    if let hint { context.hint = String(cString: hint) }
    guard context.identity.count < Int(maxIdentity), context.key.count <= Int(maxPSK), context.key.count > 0 else { return 0 }
    context.identity.withUnsafeBytes { bytes in
        identity.withMemoryRebound(to: UInt8.self, capacity: Int(maxIdentity)) { target in
            if let source = bytes.baseAddress { target.update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
            target[bytes.count] = 0
        }
    }
    context.key.withBytes { key in psk.update(from: key.baseAddress!, count: key.count) }
    return UInt32(context.key.count)
}

/// Why a TLS client session could not be set up. Nothing was sent when one of these is thrown.
public enum TLSClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An OpenSSL call failed; `detail` is its error queue as it stood then.
    case openSSLFailure(function: String, detail: String)
    /// OpenSSL knows none of the list's suites.
    case noCipherSuite(String)
    case clientCertificateUnreadable
    case clientCertificateRefused(detail: String)
    case privateKeyUnreadable
    /// The key is not the client certificate's.
    case privateKeyMismatch
    /// `index` counts in `TLSCertificateAuthentication.trustAnchors`.
    case trustAnchorUnreadable(index: Int)
    case trustAnchorRefused(index: Int, detail: String)
    case trustAnchorFileUnreadable(path: String, detail: String)
    /// OpenSSL would not arm the check of the server's certificate against this name or address.
    case peerNameRefused(TLSPeerName)
    /// OpenSSL would not send this as Server Name Indication.
    case serverNameRefused(String)

    static func openSSL(_ function: String) -> TLSClientError {
        .openSSLFailure(function: function, detail: CryptoError.drainOpenSSLErrors())
    }

    /// `text` with control characters escaped, for messages about names that came from card data.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.flatMap { scalar -> [Character] in
            scalar.properties.generalCategory == .control ? Array(scalar.escaped(asASCII: true)) : [Character(scalar)]
        })
    }

    public var description: String {
        switch self {
        case .openSSLFailure(let function, let detail): return "OpenSSL \(function) failed: \(detail)"
        case .noCipherSuite(let list): return "OpenSSL offers none of the cipher suites \(list)"
        case .clientCertificateUnreadable: return "the client certificate is not a DER X.509 certificate"
        case .clientCertificateRefused(let detail): return "OpenSSL refused the client certificate: \(detail)"
        case .privateKeyUnreadable: return "the client key is not a DER private key"
        case .privateKeyMismatch: return "the client key does not match the client certificate"
        case .trustAnchorUnreadable(let index): return "trust anchor \(index) is not a DER X.509 certificate"
        case .trustAnchorRefused(let index, let detail): return "OpenSSL refused trust anchor \(index): \(detail)"
        case .trustAnchorFileUnreadable(let path, let detail): return "cannot load trust anchors from \(path): \(detail)"
        case .peerNameRefused(let peer): return "OpenSSL cannot check the server's certificate against \(peer)"
        case .serverNameRefused(let name): return "OpenSSL cannot send \(name) as the TLS server name"
        }
    }
}
