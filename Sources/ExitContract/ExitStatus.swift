/// The exit codes dmboot and apdu-shell promise to scripts (dmboot(1) and
/// apdu-shell(1), EXIT STATUS; `dmboot exit-codes`). One contract for both
/// tools: a factory script branches on these, so a code never changes meaning
/// and means the same whichever tool returns it.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case internalError = 1
    case usage = 2
    case serviceUnavailable = 3
    case noReader = 4
    case readerNotFound = 5
    case noCard = 6
    case cardRemoved = 7
    case readerBusy = 8
    case timeout = 9
    case transportError = 10
    case cardError = 11
    case simulatorError = 12
    case fileError = 13
    case expectationFailed = 14
    case secretMissing = 15
    case lineStopped = 16
    case interrupted = 17
    case cardNotAuthenticated = 20
    case authenticationRefused = 21
    case secureMessagingFailure = 22
    case keyMaterial = 23
    case secureChannelUnsupported = 24
    case encryptionKeyWrong = 25
    case malformedCardData = 30
    case noPKCS15Application = 31
    case noBootstrapObject = 32
    case malformedBootstrap = 40
    case invalidAccount = 41
    case strictRefusal = 42
    case treeStore = 50
    case treeBusy = 51
    case noSuchNode = 52
    case secretNotRevealed = 53
    case secretsLeftOut = 54
    case secretFileExposed = 55
    case policyRefusal = 60
    case pushNotAuthentic = 70
    case malformedContentType = 71
    case integrityCheckFailed = 72
    case serverUnreachable = 80
    case tlsHandshakeFailed = 81
    case wrongPSK = 82
    case certificateNotTrusted = 83
    case protocolTooOld = 84
    case bootstrapCredentialsUnusable = 85
    case mcimRefused = 90
    case notAnRSAKey = 91
    case alreadyProvisioned = 100
    case resultsUnavailable = 101
    case resultsRefused = 102
    case resultNotKept = 103
    case tokenUnavailable = 110
    case tokenNotFound = 111
    case tokenPINRefused = 112
    case tokenKeyNotFound = 113
    case tokenKeyNotPermitted = 114
    case cardNotInKeyTable = 115
    case dashboardUnavailable = 130
    case dashboardUnprotected = 131
    case libraryMissing = 140
    case changeNotConfirmed = 150
    case pinRefused = 151
    case pinBlocked = 152
    case documentTooLarge = 153
    case keyRotationFailed = 154
    case keyRotationUncertain = 155

    public var summary: String {
        switch self {
        case .success: return "success"
        case .internalError: return "internal error (a bug: please report it)"
        case .usage: return "bad command line, flag or input file argument"
        case .serviceUnavailable: return "the PC/SC service (pcscd) is not running"
        case .noReader: return "no smartcard reader is connected"
        case .readerNotFound: return "--reader names no reader, or more than one"
        case .noCard: return "no card in the reader"
        case .cardRemoved: return "the card was removed or reset during the command"
        case .readerBusy: return "another application holds the card exclusively"
        case .timeout: return "a wait (--wait, --timeout) ran out"
        case .transportError: return "other PC/SC or card communication failure"
        case .cardError: return "the card answered a command with an error status"
        case .simulatorError: return "dmboot-sim: the virtual card could not start (profile, driver port)"
        case .fileError: return "a file named on the command line cannot be read or written (missing, not a regular file, too large)"
        case .expectationFailed: return "apdu-shell: an expectation of the script (expect SW or data) did not hold"
        case .lineStopped:
            return "station: --max-consecutive-failures cards in a row failed with the same class; the station stopped the line"
        case .interrupted: return "Ctrl-C: a station's second one stopped it right after the cards in flight; apdu-shell stopped its script between two exchanges"
        case .secretMissing: return "a secret the command needs (push PIN, NETWORKID, password, HMAC key, Ks_NAF) was not given"
        case .cardNotAuthenticated:
            return "the card did not prove it holds the static keys (card cryptogram, or under a strict policy its pseudo-random challenge); nothing was sent after INITIALIZE UPDATE"
        case .authenticationRefused:
            return "the card refused EXTERNAL AUTHENTICATE; not retried (cards block keys after a few failures)"
        case .secureMessagingFailure: return "a protected response failed its check (R-MAC, padding, counter); the session was closed"
        case .keyMaterial: return "the SCP03 keys could not be loaded (missing, unreadable, malformed; a key file others may read is 55)"
        case .secureChannelUnsupported: return "the card cannot run the requested SCP03 session (key version, i parameter, level)"
        case .encryptionKeyWrong:
            return "Key-ENC is wrong: the pseudo-random challenge did not match and the card refused the first encrypted command with 6982"
        case .malformedCardData:
            return "the card's PKCS#15 data is malformed (the message names the file and offset), or points outside the application"
        case .noPKCS15Application: return "the card has no PKCS#15 application"
        case .noBootstrapObject: return "the PKCS#15 application holds no DM bootstrap object"
        case .malformedBootstrap: return "the bootstrap document is malformed (WBXML or XML; the message names the offset)"
        case .invalidAccount: return "the bootstrap's DM accounts are not valid (every problem is listed)"
        case .strictRefusal: return "the strict policy refused a bootstrap with warnings (every warning is listed); nothing was installed"
        case .treeStore: return "the DM tree file cannot be used (missing, corrupt, not a tree, newer schema, I/O); nothing was written"
        case .treeBusy: return "another dmboot kept the DM tree locked past --busy-timeout; nothing was written"
        case .noSuchNode: return "the DM tree has no such node, or the path is not a tree path"
        case .secretNotRevealed: return "the node is secret (no Get in its ACL); --reveal-secrets shows it"
        case .secretsLeftOut:
            return "tree import: the file was exported without --reveal-secrets; --allow-missing-secrets imports it with those secrets empty"
        case .secretFileExposed:
            return "a secret file (keys, PIN, password) is not the user's own regular file with no group or other permission bits; the message says the fix (chmod 600)"
        case .policyRefusal:
            return "the policy refused (smartcard bootstrap disabled, level too low, server not allowed, legacy NETWORKID)"
        case .pushNotAuthentic: return "a pushed bootstrap's HMAC does not verify (altered body, or wrong PIN/NETWORKID); nothing was installed"
        case .malformedContentType: return "a pushed bootstrap's Content-Type is not MIME;KEYTYPE;40HEXDIG"
        case .integrityCheckFailed: return "an x-syncml-hmac header does not verify, or is malformed"
        case .serverUnreachable: return "the bootstrap server cannot be reached (DNS, refused, timeout)"
        case .tlsHandshakeFailed: return "the TLS handshake with the bootstrap server failed, or its certificate or ephemeral key gives under 112 bits of security"
        case .wrongPSK: return "the bootstrap server rejected the PSK or its identity"
        case .certificateNotTrusted: return "the bootstrap server's certificate is not trusted"
        case .protocolTooOld: return "the bootstrap server offers only a protocol older than TLS 1.1"
        case .bootstrapCredentialsUnusable: return "the account's Auth/Bootstrap nodes are missing or unusable"
        case .mcimRefused: return "an MCIM blob is malformed, altered, or not for this key; nothing was decrypted"
        case .notAnRSAKey: return "the PEM file is not an RSA key (public for mcim pack, private for mcim unpack)"
        case .alreadyProvisioned:
            return "the card already has a successful record in the results database (any station); its tree was not touched"
        case .resultsUnavailable: return "the results database cannot be reached (results list, report, flush)"
        case .resultsRefused: return "the results database refused (newer schema, no right to create tables, bad data)"
        case .resultNotKept: return "a result could be neither stored nor spooled (the spool cannot be written)"
        case .tokenUnavailable: return "the PKCS#11 module cannot be loaded or the token failed; no card was touched"
        case .tokenNotFound: return "no PKCS#11 token has the URI's token label; no card was touched"
        case .tokenPINRefused: return "the PKCS#11 token refused the PIN, or the PIN is locked; no card was touched"
        case .tokenKeyNotFound: return "the token holds no AES secret key with the URI's object label (and id), or several"
        case .tokenKeyNotPermitted:
            return "the token's key may not do what dmboot needs (CKA_SIGN/CKA_ENCRYPT for CMAC, CKA_DECRYPT for a key table) or is not AES"
        case .cardNotInKeyTable: return "the key table has no row for the card; nothing was sent after INITIALIZE UPDATE"
        case .dashboardUnavailable:
            return "dashboard, station --metrics: dmboot-dashboard is missing beside dmboot, or cannot listen on the address"
        case .dashboardUnprotected:
            return "dashboard: --listen beyond loopback without a usable --token-file (missing, readable by others, too short)"
        case .libraryMissing: return "a shared library the command loads when it needs it (libpq5, libxml2) is not installed"
        case .changeNotConfirmed:
            return "apdu-shell: a change to the card or a file was not confirmed (answer y, or --yes in a script); nothing was sent"
        case .pinRefused: return "the card refused the PIN or PUK; the tries left are shown; not retried"
        case .pinBlocked: return "the PIN (or its PUK) is blocked; nothing was sent"
        case .documentTooLarge: return "write-bootstrap: the document is larger than the space its DODF entry names; nothing was written"
        case .keyRotationFailed: return "keys rotate: the card refused PUT KEY (or answered it wrongly) and holds its old keys"
        case .keyRotationUncertain:
            return "keys rotate: PUT KEY was sent but the new keys were not proven; the record says which keys the card holds (new, old or unknown)"
        }
    }

    /// The status an error states for itself (`ClassifiedFailure`), or
    /// `otherwise` for an error that states none.
    public static func of(_ error: Error, otherwise: ExitStatus = .internalError) -> ExitStatus {
        (error as? ClassifiedFailure)?.exitStatus ?? otherwise
    }

    /// The name `dmboot exit-codes` prints beside the code, used as the
    /// failure class in logs and results.
    public var failureClass: String { "\(self)" }
}

/// An error that says which failure of the exit-code contract it is. Each
/// layer's error types conform in their own module, so a new error case is
/// classified where it is written, and any tool or log reads the class the
/// same way.
public protocol ClassifiedFailure: Error {
    var exitStatus: ExitStatus { get }
}

extension ClassifiedFailure {
    public var failureClass: String { exitStatus.failureClass }
    public var exitCode: Int32 { exitStatus.rawValue }
}

/// A shared library that a command loads on first use (libpq for the results
/// database, libxml2 for XML documents), rather than at every start, is not
/// installed: the command that needs it stops, the others never notice.
public struct LibraryMissing: Error, Equatable, CustomStringConvertible, ClassifiedFailure {
    public let library: String
    public let package: String
    public let reason: String

    public init(library: String, package: String, reason: String) {
        self.library = library
        self.package = package
        self.reason = reason
    }

    public var exitStatus: ExitStatus { .libraryMissing }

    public var description: String {
        "\(library) cannot be loaded (\(reason)); install the Debian package \(package)"
    }
}
