import Foundation

/// A PKCS#11 URI (RFC 7512) naming a secret key in a token:
/// `pkcs11:token=Factory;object=kmc?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/dmboot/pin`.
///
/// dmboot takes from it the token label, the object label and id (path
/// attributes, RFC 7512 2.3), and the module to load and where the PIN comes
/// from (query attributes). A PIN written into the URI (`pin-value`) is
/// refused: the URI is a flag value, and flags show in `ps`.
public struct PKCS11URI: Equatable, Sendable, CustomStringConvertible {
    public var token: String?
    public var object: String?
    public var id: [UInt8]?
    public var type: String?
    public var modulePath: String
    public var pinSource: String?

    /// The path attributes RFC 7512 2.3 defines. dmboot matches token,
    /// object, id and type; a URI narrowing the search by any other
    /// attribute is refused rather than silently matching more than it says.
    static let definedPathAttributes: Set<String> = [
        "token", "manufacturer", "serial", "model", "library-manufacturer", "library-description",
        "library-version", "object", "type", "id", "slot-description", "slot-manufacturer", "slot-id",
    ]
    static let matchedPathAttributes: Set<String> = ["token", "object", "id", "type"]

    public static func isPKCS11(_ text: String) -> Bool {
        text.lowercased().hasPrefix("pkcs11:")
    }

    public init(_ text: String) throws {
        guard Self.isPKCS11(text) else { throw PKCS11URIError.notPKCS11URI }
        let body = text.dropFirst("pkcs11:".count)
        let parts = body.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = try Self.attributes(String(parts[0]), separator: ";")
        let query = parts.count > 1 ? try Self.attributes(String(parts[1]), separator: "&") : [:]
        for name in path.keys where !Self.matchedPathAttributes.contains(name) {
            if Self.definedPathAttributes.contains(name) || name.hasPrefix("x-") {
                throw PKCS11URIError.unsupportedAttribute(name)
            }
            throw PKCS11URIError.unknownAttribute(name)
        }
        if query["pin-value"] != nil { throw PKCS11URIError.pinInURI }
        guard let modulePath = query["module-path"].map({ String(decoding: $0, as: UTF8.self) }) else {
            throw PKCS11URIError.noModulePath
        }
        self.modulePath = modulePath
        token = path["token"].map { String(decoding: $0, as: UTF8.self) }
        object = path["object"].map { String(decoding: $0, as: UTF8.self) }
        id = path["id"]
        type = path["type"].map { String(decoding: $0, as: UTF8.self) }
        if let type, type != "secret-key" { throw PKCS11URIError.notASecretKey(type) }
        pinSource = query["pin-source"].map { String(decoding: $0, as: UTF8.self) }
    }

    /// The URI without its query: what messages name (the module path and
    /// PIN source are configuration, not identity).
    public var description: String {
        var attributes: [String] = []
        if let token { attributes.append("token=\(token)") }
        if let object { attributes.append("object=\(object)") }
        if let id { attributes.append("id=" + id.map { String(format: "%%%02X", $0) }.joined()) }
        return "pkcs11:" + attributes.joined(separator: ";")
    }

    /// Splits `name=value` pairs and percent-decodes each value (RFC 7512
    /// 2.3: values are percent-encoded octets). An attribute given twice is
    /// refused, as 2.3 allows each at most once.
    private static func attributes(_ text: String, separator: Character) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for pair in text.split(separator: separator, omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else { throw PKCS11URIError.malformed("\"\(pair)\" has no =") }
            let name = pair[..<equals].lowercased()
            guard result[name] == nil else { throw PKCS11URIError.repeatedAttribute(name) }
            result[name] = try percentDecode(pair[pair.index(after: equals)...], attribute: name)
        }
        return result
    }

    private static func percentDecode(_ text: Substring, attribute: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                throw PKCS11URIError.malformed("\(attribute): a % is not followed by two hex digits")
            }
            bytes.append(value)
        }
        return bytes
    }
}

public enum PKCS11URIError: Error, Equatable, CustomStringConvertible {
    case notPKCS11URI
    case malformed(String)
    case repeatedAttribute(String)
    case unknownAttribute(String)
    case unsupportedAttribute(String)
    case pinInURI
    case noModulePath
    case notASecretKey(String)

    public var description: String {
        switch self {
        case .notPKCS11URI: return "not a PKCS#11 URI (pkcs11:...)"
        case .malformed(let reason): return "malformed PKCS#11 URI: \(reason)"
        case .repeatedAttribute(let name): return "PKCS#11 URI: \(name) appears twice (RFC 7512 allows it once)"
        case .unknownAttribute(let name): return "PKCS#11 URI: unknown attribute \(name)"
        case .unsupportedAttribute(let name):
            return "PKCS#11 URI: dmboot selects keys by token, object, id and type only; remove \(name)"
        case .pinInURI:
            return "PKCS#11 URI: pin-value puts the PIN on the command line; use pin-source=file:PATH or DMBOOT_PKCS11_PIN"
        case .noModulePath:
            return "PKCS#11 URI: give the module to load as module-path=/path/to/module.so"
        case .notASecretKey(let type): return "PKCS#11 URI: type=\(type), but SCP03 keys are secret keys (type=secret-key)"
        }
    }
}
