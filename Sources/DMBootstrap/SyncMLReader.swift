/// Reads a SyncML DM bootstrap package: Add and Replace commands (also
/// inside Atomic and Sequence) whose items target ./DMAcc (DM 1.2 and 1.3) or
/// ./SyncML/DMAcc (DM 1.1.2, mapped onto the DM 1.2 object).
struct SyncMLReader {
    func read(_ document: Document, encoding: DecodedBootstrap.Encoding) throws -> DecodedBootstrap {
        guard let body = document.root.child("SyncBody") else {
            throw BootstrapError.malformedItem(command: "SyncML", reason: "no SyncBody")
        }
        var accounts: [String: DMAccount] = [:]
        var order: [String] = []
        var legacy: [String: [String: DMNode]] = [:]
        var legacyOrder: [String] = []
        var other: [String] = []
        var ignored: [String] = []
        func visit(_ command: Element, inheritedMeta: Element?) throws {
            switch command.name {
            case "Atomic", "Sequence":
                let meta = command.child("Meta")
                for child in command.children { try visit(child, inheritedMeta: meta) }
            case "Add", "Replace":
                let commandMeta = command.child("Meta") ?? inheritedMeta
                for item in command.children(named: "Item") {
                    guard let uri = item.child("Target")?.child("LocURI")?.text.trimmed, !uri.isEmpty else {
                        throw BootstrapError.malformedItem(command: command.name, reason: "an Item has no Target/LocURI")
                    }
                    let meta = item.child("Meta") ?? commandMeta
                    let formatName = meta?.child("Format")?.text.trimmed ?? "chr"
                    guard let format = NodeFormat(rawValue: formatName) else {
                        throw BootstrapError.malformedItem(command: command.name,
                                                           reason: "\(uri) has Format \"\(formatName)\", not a DM format")
                    }
                    let type = meta?.child("Type")?.text.trimmed
                    let data = item.child("Data")
                    var value: [UInt8]?
                    if format != .node {
                        guard let converted = NodeData.value(data?.bytes ?? [], format: format, opaque: data?.isOpaque ?? false) else {
                            throw BootstrapError.malformedItem(command: command.name, reason: "\(uri) is \(format.rawValue) but its Data is not base64")
                        }
                        value = converted
                    }
                    if let (account, path) = try AccountPath.split(uri, root: ["DMAcc"]) {
                        if accounts[account] == nil {
                            accounts[account] = DMAccount(name: account, source: .syncML)
                            order.append(account)
                        }
                        if !path.isEmpty { accounts[account]!.set(DMNode(path: path, format: format, type: type, value: value)) }
                    } else if let (account, path) = try AccountPath.split(uri, root: ["SyncML", "DMAcc"]) {
                        if legacy[account] == nil {
                            legacy[account] = [:]
                            legacyOrder.append(account)
                        }
                        if !path.isEmpty { legacy[account]![path] = DMNode(path: path, format: format, type: type, value: value) }
                    } else {
                        other.append(uri)
                    }
                }
            case "Final", "CmdID", "Meta":
                break
            default:
                ignored.append(command.name)
            }
        }
        for command in body.children { try visit(command, inheritedMeta: nil) }
        let mapped = try legacyOrder.map { try LegacyAccountMapping.map(name: $0, nodes: legacy[$0]!) }
        return DecodedBootstrap(encoding: encoding, documentType: .syncML, publicID: document.publicID,
                                accounts: order.map { accounts[$0]! } + mapped, otherNodes: other, ignoredCommands: ignored)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

import Foundation

/// DM 1.1.2's ./SyncML/DMAcc/<x> mapped onto the DM 1.2 DMAcc object, as
/// DMStdObj's backward-compatibility table does: server credentials become
/// AppAuth/<SRV> (SRVCRED), client credentials AppAuth/<CLI> (CLCRED).
enum LegacyAccountMapping {
    static let authPreference = [
        "syncml:auth-basic": "BASIC", "syncml:auth-md5": "DIGEST", "syncml:auth-mac": "HMAC",
    ]

    static func map(name: String, nodes: [String: DMNode]) throws -> DMAccount {
        var account = DMAccount(name: name, source: .legacySyncML)
        func copy(_ from: String, to: String) {
            if let node = nodes[from] { account.set(DMNode(path: to, format: node.format, type: node.type, value: node.value)) }
        }
        func chr(_ path: String, _ value: String) {
            account.set(DMNode(path: path, format: .chr, value: Array(value.utf8)))
        }
        chr("AppID", "w7")
        copy("ServerId", to: "ServerID")
        copy("Name", to: "Name")
        copy("ConRef", to: "PrefConRef")
        copy("Addr", to: "AppAddr/1/Addr")
        if let type = nodes["AddrType"]?.text?.trimmed {
            // DM 1.1.2 numbers the address types: 1 is an HTTP URI, 2 a WSP address, 3 OBEX.
            let mapped = ["1": "URI", "2": "ALPHA", "3": "ALPHA"][type] ?? type
            chr("AppAddr/1/AddrType", mapped)
        }
        copy("PortNbr", to: "AppAddr/1/Port/1/PortNbr")
        let preference = nodes["AuthPref"]?.text.map { authPreference[$0.trimmed.lowercased()] ?? $0.trimmed }
        if let preference { chr("AAuthPref", preference) }
        if nodes["ServerPW"] != nil || nodes["ServerNonce"] != nil {
            chr("AppAuth/SRV/AAuthLevel", "SRVCRED")
            if let preference { chr("AppAuth/SRV/AAuthType", preference) }
            copy("ServerId", to: "AppAuth/SRV/AAuthName")
            copy("ServerPW", to: "AppAuth/SRV/AAuthSecret")
            copy("ServerNonce", to: "AppAuth/SRV/AAuthData")
        }
        if nodes["UserName"] != nil || nodes["ClientPW"] != nil || nodes["ClientNonce"] != nil {
            chr("AppAuth/CLI/AAuthLevel", "CLCRED")
            if let preference { chr("AppAuth/CLI/AAuthType", preference) }
            copy("UserName", to: "AppAuth/CLI/AAuthName")
            copy("ClientPW", to: "AppAuth/CLI/AAuthSecret")
            copy("ClientNonce", to: "AppAuth/CLI/AAuthData")
        }
        return account
    }
}
