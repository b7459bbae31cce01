import Foundation

/// Reads an OMA Client Provisioning document and maps each APPLICATION with
/// APPID w7 onto a DMAcc account: PROVIDER-ID → ServerID, NAME → Name,
/// TO-NAPID/TO-PROXY → ToConRef (the first also PrefConRef), ADDR or
/// APPADDR/ADDR, ADDRTYPE, PORT/PORTNBR → AppAddr, APPAUTH → AppAuth.
///
/// The APPAUTH levels name whose credentials they carry, and DMAcc names the
/// opposite side: APPSRV holds what the client presents to the server
/// (DMAcc CLCRED), CLIENT what the server presents to the client (SRVCRED).
/// README.md ("Client Provisioning w7") lists the public texts this follows.
struct ClientProvisioningReader {
    static let levels = ["APPSRV": "CLCRED", "CLIENT": "SRVCRED", "OBEX": "OBEX"]
    /// Provisioning Content spells address types in capitals; DMAcc AddrType does not.
    static let addressTypes = ["IPV4": "IPv4", "IPV6": "IPv6", "E164": "E164", "ALPHA": "ALPHA", "URI": "URI"]

    func read(_ document: Document, encoding: DecodedBootstrap.Encoding) throws -> DecodedBootstrap {
        var accounts: [DMAccount] = []
        var other: [String] = []
        for characteristic in document.root.children(named: "characteristic") {
            let type = characteristic.attributes["type"] ?? ""
            guard type == "APPLICATION", Self.parm(characteristic, "APPID") == "w7" else {
                other.append(type.isEmpty ? "characteristic" : type)
                continue
            }
            accounts.append(try map(characteristic, index: accounts.count + 1))
        }
        return DecodedBootstrap(encoding: encoding, documentType: .clientProvisioning, publicID: document.publicID,
                                accounts: accounts, otherNodes: other, ignoredCommands: [])
    }

    static func parm(_ characteristic: Element, _ name: String) -> String? {
        parms(characteristic, name).first
    }

    static func parms(_ characteristic: Element, _ name: String) -> [String] {
        characteristic.children(named: "parm").filter { $0.attributes["name"] == name }.compactMap { $0.attributes["value"] }
    }

    /// The account name: from PROVIDER-ID, kept to the characters a node name may hold.
    static func accountName(_ providerID: String?, index: Int) -> String {
        let cleaned = (providerID ?? "").map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        return cleaned.isEmpty ? "CP\(index)" : String(cleaned)
    }

    /// The DMAcc AddrType for a Provisioning Content ADDRTYPE (URI when absent, as DMAcc defaults).
    static func addressType(_ value: String?) -> String {
        guard let value else { return "URI" }
        return addressTypes[value.uppercased()] ?? value
    }

    func map(_ application: Element, index: Int) throws -> DMAccount {
        let providerID = Self.parm(application, "PROVIDER-ID")
        var account = DMAccount(name: Self.accountName(providerID, index: index), source: .clientProvisioning)
        func chr(_ path: String, _ value: String?) {
            if let value { account.set(DMNode(path: path, format: .chr, value: Array(value.utf8))) }
        }
        chr("AppID", "w7")
        chr("ServerID", providerID)
        chr("Name", Self.parm(application, "NAME"))
        let connections = Self.parms(application, "TO-NAPID") + Self.parms(application, "TO-PROXY")
        for (number, reference) in connections.enumerated() { chr("ToConRef/\(number + 1)/ConRef", reference) }
        chr("PrefConRef", connections.first)
        var addresses = application.children(named: "characteristic").filter { $0.attributes["type"] == "APPADDR" }
        if addresses.isEmpty, let address = Self.parm(application, "ADDR") {
            addresses = [Element(name: "characteristic", attributes: ["type": "APPADDR"], content: [
                .element(Element(name: "parm", attributes: ["name": "ADDR", "value": address])),
            ])]
        }
        for (number, address) in addresses.enumerated() {
            let base = "AppAddr/\(number + 1)"
            chr("\(base)/Addr", Self.parm(address, "ADDR"))
            chr("\(base)/AddrType", Self.addressType(Self.parm(address, "ADDRTYPE")))
            for (portNumber, port) in address.children(named: "characteristic").filter({ $0.attributes["type"] == "PORT" }).enumerated() {
                if let value = Self.parm(port, "PORTNBR") {
                    account.set(DMNode(path: "\(base)/Port/\(portNumber + 1)/PortNbr", format: .int, value: Array(value.utf8)))
                }
            }
        }
        for (number, auth) in application.children(named: "characteristic").filter({ $0.attributes["type"] == "APPAUTH" }).enumerated() {
            let base = "AppAuth/\(number + 1)"
            let level = Self.parm(auth, "AAUTHLEVEL")
            chr("\(base)/AAuthLevel", level.map { Self.levels[$0] ?? $0 })
            chr("\(base)/AAuthType", Self.parm(auth, "AAUTHTYPE"))
            chr("\(base)/AAuthName", Self.parm(auth, "AAUTHNAME"))
            chr("\(base)/AAuthSecret", Self.parm(auth, "AAUTHSECRET"))
            if let data = Self.parm(auth, "AAUTHDATA") {
                guard let bytes = Data(base64Encoded: data.filter { !$0.isWhitespace }) else {
                    throw BootstrapError.malformedItem(command: "APPAUTH",
                                                       reason: "AAUTHDATA of \(account.name) is not base64, as w7 requires")
                }
                account.set(DMNode(path: "\(base)/AAuthData", format: .bin, value: [UInt8](bytes)))
            }
        }
        return account
    }
}
