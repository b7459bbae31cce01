import APDU
import PKCS15

/// Failures to read what a security domain returned.
public struct GlobalPlatformDataError: Error, Equatable, CustomStringConvertible {
    public let what: String
    public let reason: String
    public var description: String { "\(what): \(reason)" }
}

/// One key of the Key Information Template (GET DATA 00E0), as
/// GlobalPlatform Card Specification v2.3 section 11.3.3.1 lays out its
/// key information data (tag C0): key identifier, key version, then one
/// (type, length) pair per key component; in the extended format every type
/// is FF-prefixed, lengths take two bytes, and key usage and key access follow.
public struct KeyInformation: Equatable, Sendable {
    public struct Component: Equatable, Sendable {
        public let type: UInt8
        public let length: Int
    }

    public let identifier: UInt8
    public let version: UInt8
    public let components: [Component]
    public let extended: Bool
    public let usage: [UInt8]?
    public let access: [UInt8]?

    /// Every key of an E0 template; an empty C0 (a fresh security domain) is skipped.
    public static func parseTemplate(_ bytes: [UInt8]) throws -> [KeyInformation] {
        var reader = BERReader(bytes, file: "Key Information Template")
        let template = try reader.expect(0xE0, "the Key Information Template (E0)")
        var inner = try reader.children(of: template)
        var keys: [KeyInformation] = []
        while let element = try inner.next() {
            guard element.tag == 0xC0 else { continue }
            guard !element.value.isEmpty else { continue }
            keys.append(try KeyInformation(data: element.bytes))
        }
        return keys
    }

    public init(data: [UInt8]) throws {
        let fail = { (reason: String) in GlobalPlatformDataError(what: "key information data \(Hex.encode(data))", reason: reason) }
        guard data.count >= 4 else { throw fail("shorter than 4 bytes") }
        identifier = data[0]
        version = data[1]
        extended = data[2] == 0xFF
        var index = 2
        var components: [Component] = []
        if extended {
            // Components until the rest is exactly usage (L, V) then access (L, V).
            while index < data.count {
                if let (usage, access) = Self.usageAndAccess(data[index...]) {
                    self.components = components
                    self.usage = usage
                    self.access = access
                    return
                }
                var type = data[index]
                if type == 0xFF {
                    index += 1
                    guard index < data.count else { throw fail("an FF key type marker ends the data") }
                    type = data[index]
                }
                guard index + 2 < data.count else { throw fail("a key component has no two-byte length") }
                components.append(Component(type: type, length: Int(data[index + 1]) << 8 | Int(data[index + 2])))
                index += 3
            }
            throw fail("the extended format ends without key usage and key access")
        }
        guard (data.count - 2) % 2 == 0 else { throw fail("a key type has no length byte") }
        while index < data.count {
            components.append(Component(type: data[index], length: Int(data[index + 1])))
            index += 2
        }
        self.components = components
        usage = nil
        access = nil
    }

    private static func usageAndAccess(_ rest: ArraySlice<UInt8>) -> ([UInt8], [UInt8])? {
        guard let usageLength = rest.first.map(Int.init), usageLength <= 1 else { return nil }
        let accessIndex = rest.startIndex + 1 + usageLength
        guard accessIndex < rest.endIndex else { return nil }
        let accessLength = Int(rest[accessIndex])
        guard accessLength <= 1, accessIndex + 1 + accessLength == rest.endIndex else { return nil }
        return (Array(rest[(rest.startIndex + 1)..<accessIndex]), Array(rest[(accessIndex + 1)...]))
    }

    /// GlobalPlatform Card Specification v2.3 section 11.1.8, key type coding.
    public static func typeName(_ type: UInt8) -> String {
        switch type {
        case 0x00...0x7F: return "private use"
        case 0x80: return "DES"
        case 0x81: return "3DES (reserved)"
        case 0x82: return "3DES-CBC"
        case 0x83: return "DES-ECB"
        case 0x84: return "DES-CBC"
        case 0x85: return "TLS PSK"
        case 0x88: return "AES"
        case 0x90: return "HMAC-SHA1"
        case 0x91: return "HMAC-SHA1-160"
        case 0xA0: return "RSA public e"
        case 0xA1: return "RSA public N"
        case 0xA2: return "RSA private N"
        case 0xA3: return "RSA private d"
        case 0xA4...0xA8: return "RSA private CRT component"
        case 0xB0: return "ECC public key"
        case 0xB1: return "ECC private key"
        case 0xB2...0xB5: return "ECC parameter"
        default: return "RFU"
        }
    }

    /// "version 30 id 01  AES 16 bytes (AES-128)".
    public var summary: String {
        let parts = components.map { component -> String in
            let bits = component.type == 0x88 && component.length > 0 ? " (AES-\(component.length * 8))" : ""
            return "\(Self.typeName(component.type)) \(component.length) bytes\(bits)"
        }
        var text = "version \(Hex.encode([version])) id \(Hex.encode([identifier]))  \(parts.joined(separator: ", "))"
        if extended {
            text += "  usage \(usage.map { Hex.encode($0) } ?? "-") access \(access.map { Hex.encode($0) } ?? "-")"
        }
        return text
    }
}

/// The Card Production Life Cycle data (GET DATA 9F7F): 42 bytes of fixed
/// fields, in the order GlobalPlatformPro's CPLC class and OpenSC's
/// global_platform_cplc_data_t (gp.h) both use.
public struct CPLC: Equatable, Sendable {
    public static let fields: [(name: String, length: Int)] = [
        ("ICFabricator", 2), ("ICType", 2), ("OperatingSystemID", 2), ("OperatingSystemReleaseDate", 2),
        ("OperatingSystemReleaseLevel", 2), ("ICFabricationDate", 2), ("ICSerialNumber", 4), ("ICBatchIdentifier", 2),
        ("ICModuleFabricator", 2), ("ICModulePackagingDate", 2), ("ICCManufacturer", 2), ("ICEmbeddingDate", 2),
        ("ICPrePersonalizer", 2), ("ICPrePersonalizationEquipmentDate", 2), ("ICPrePersonalizationEquipmentID", 4),
        ("ICPersonalizer", 2), ("ICPersonalizationDate", 2), ("ICPersonalizationEquipmentID", 4),
    ]
    public static let length = 42

    public let values: [(name: String, value: [UInt8])]

    public static func == (lhs: CPLC, rhs: CPLC) -> Bool {
        lhs.values.map(\.value) == rhs.values.map(\.value)
    }

    /// The 42 bytes, with or without their 9F7F tag and length.
    public init(bytes: [UInt8]) throws {
        var body = bytes[...]
        if bytes.count >= 3 && bytes[0] == 0x9F && bytes[1] == 0x7F {
            guard Int(bytes[2]) == bytes.count - 3 else {
                throw GlobalPlatformDataError(what: "CPLC", reason: "tag 9F7F says \(bytes[2]) bytes, \(bytes.count - 3) follow")
            }
            body = bytes[3...]
        }
        guard body.count == Self.length else {
            throw GlobalPlatformDataError(what: "CPLC", reason: "\(body.count) bytes, expected \(Self.length)")
        }
        var offset = body.startIndex
        values = Self.fields.map { field in
            defer { offset += field.length }
            return (field.name, Array(body[offset..<(offset + field.length)]))
        }
    }

    /// A CPLC date is YDDD in BCD: the last digit of the year and the day of
    /// that year. The decade is not recorded, so none is guessed.
    public static func date(_ value: [UInt8]) -> String {
        let digits = Hex.encode(value)
        if digits == "0000" || digits == "FFFF" { return "no date" }
        guard digits.allSatisfy(\.isNumber), let day = Int(digits.dropFirst()), (1...366).contains(day) else {
            return "not a YDDD date"
        }
        return "year ending in \(digits.first!), day \(day)"
    }

    public var lines: [String] {
        values.map { field in
            let hex = Hex.encode(field.value)
            return field.name.hasSuffix("Date") ? "\(field.name)=\(hex) (\(Self.date(field.value)))" : "\(field.name)=\(hex)"
        }
    }
}

/// One entry of a GET STATUS answer in the tagged format (P2 = 02):
/// GlobalPlatform Card Specification v2.3 section 11.4.3.2, template E3.
public struct RegistryEntry: Equatable, Sendable {
    public enum Kind: String, Sendable {
        case issuerSecurityDomain = "ISD", application = "APP", loadFile = "PKG", loadFileAndModules = "PKG+MOD"
    }

    public let kind: Kind
    public let aid: [UInt8]
    public let lifeCycle: UInt8?
    public let privileges: [UInt8]
    public let loadFile: [UInt8]?
    public let version: [UInt8]?
    public let modules: [[UInt8]]
    public let associatedDomain: [UInt8]?

    /// Every E3 entry of a GET STATUS answer for the subset `p1` asked for.
    public static func parse(_ bytes: [UInt8], p1: UInt8) throws -> [RegistryEntry] {
        let kind: Kind
        switch p1 {
        case 0x80: kind = .issuerSecurityDomain
        case 0x40: kind = .application
        case 0x20: kind = .loadFile
        default: kind = .loadFileAndModules
        }
        var reader = BERReader(bytes, file: "GET STATUS")
        var entries: [RegistryEntry] = []
        while let element = try reader.next() {
            guard element.tag == 0xE3 else {
                throw PKCS15Error.unexpectedTag(file: "GET STATUS", offset: element.offset, expected: "a registry entry (E3)",
                                                found: element.tag)
            }
            var inner = try reader.children(of: element)
            var aid: [UInt8]?
            var lifeCycle: UInt8?
            var privileges: [UInt8] = []
            var loadFile: [UInt8]?
            var version: [UInt8]?
            var modules: [[UInt8]] = []
            var domain: [UInt8]?
            while let field = try inner.next() {
                switch field.tag {
                case 0x4F: aid = field.bytes
                case 0x9F70: lifeCycle = field.value.first
                case 0xC5: privileges = field.bytes
                case 0xC4: loadFile = field.bytes
                case 0xCE: version = field.bytes
                case 0x84: modules.append(field.bytes)
                case 0xCC: domain = field.bytes
                default: continue
                }
            }
            guard let aid else {
                throw GlobalPlatformDataError(what: "GET STATUS entry at offset \(element.offset)", reason: "no AID (4F)")
            }
            entries.append(RegistryEntry(kind: kind, aid: aid, lifeCycle: lifeCycle, privileges: privileges,
                                         loadFile: loadFile, version: version, modules: modules, associatedDomain: domain))
        }
        return entries
    }

    /// Privilege names, GlobalPlatform Card Specification v2.3 table 11-7, byte by byte from b8.
    static let privilegeNames: [[String?]] = [
        ["SecurityDomain", "DAPVerification", "DelegatedManagement", "CardLock", "CardTerminate", "CardReset",
         "CVMManagement", "MandatedDAPVerification"],
        ["TrustedPath", "AuthorizedManagement", "TokenVerification", "GlobalDelete", "GlobalLock", "GlobalRegistry",
         "FinalApplication", "GlobalService"],
        ["ReceiptGeneration", "CipheredLoadFileDataBlock", "ContactlessActivation", "ContactlessSelfActivation",
         nil, nil, nil, nil],
    ]

    public var privilegeList: [String] {
        var names: [String] = []
        for (index, byte) in privileges.prefix(3).enumerated() {
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 {
                names.append(Self.privilegeNames[index][bit] ?? "RFU(byte \(index + 1) b\(8 - bit))")
            }
        }
        return names
    }

    /// GlobalPlatform Card Specification v2.3 section 11.1.1 life cycle coding.
    public var lifeCycleName: String {
        guard let lifeCycle else { return "-" }
        switch (kind, lifeCycle) {
        case (.issuerSecurityDomain, 0x01): return "OP_READY"
        case (.issuerSecurityDomain, 0x07): return "INITIALIZED"
        case (.issuerSecurityDomain, 0x0F): return "SECURED"
        case (.issuerSecurityDomain, 0x7F): return "CARD_LOCKED"
        case (.issuerSecurityDomain, 0xFF): return "TERMINATED"
        case (.loadFile, 0x01), (.loadFileAndModules, 0x01): return "LOADED"
        case (.application, 0x03): return "INSTALLED"
        case (.application, 0x07): return "SELECTABLE"
        case (.application, 0x0F): return "PERSONALIZED"
        case (.application, let value) where value & 0x83 == 0x83: return "LOCKED"
        default: return "state \(Hex.encode([lifeCycle]))"
        }
    }

    public var lines: [String] {
        var lines = ["\(kind.rawValue): \(Hex.encode(aid)) (\(lifeCycleName))"]
        if !privileges.isEmpty { lines.append("     Privs:   \(privilegeList.joined(separator: ", "))") }
        if let loadFile { lines.append("     From:    \(Hex.encode(loadFile))") }
        if let version { lines.append("     Version: \(version.map(String.init).joined(separator: "."))") }
        for module in modules { lines.append("     Applet:  \(Hex.encode(module))") }
        if let associatedDomain { lines.append("     Parent:  \(Hex.encode(associatedDomain))") }
        return lines
    }
}
