import ArgumentParser
import CommandLineSupport
import DMBootstrap
import DMTree
import Foundation
import JSONOutput
import Provisioning

struct TreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree", abstract: "Look at and manage the local DM tree.",
        subcommands: [TreeShowCommand.self, TreeGetCommand.self, TreeExportCommand.self, TreeImportCommand.self,
                      TreeDeleteCommand.self, CheckServerCommand.self])
}

struct TreeShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "List the installed accounts with their provenance, and the nodes (secrets redacted).")

    @Argument(help: ArgumentHelp("Show only this subtree.", valueName: "path"))
    var path = "."

    @OptionGroup var treeOptions: TreeOptions

    @Flag(help: "Show secret node values.")
    var revealSecrets = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let store = try treeOptions.open()
        let accounts = try store.installedAccounts()
        let nodes = try store.nodes(under: path)
        // Like `tree get`: a path with nothing at or under it is an error, not an empty listing.
        if nodes.isEmpty && path != "." { _ = try store.node(at: path) }
        if output.json {
            try Output.json(TreeListing(tree: store.path, accounts: accounts.map(TreeExport.InstalledAccountJSON.init),
                                        nodes: nodes.map { TreeNodeJSON.object($0, revealSecrets: revealSecrets) }))
            return
        }
        for account in accounts {
            let provenance = account.provenance
            Output.line("./DMAcc/\(account.name)  ServerID \(account.serverID)  from \(provenance.source.rawValue)\(provenance.cardIdentity.map { " \($0)" } ?? "")  \(ISO8601DateFormatter().string(from: provenance.time))")
        }
        for node in nodes { Output.line(TreeNodeJSON.line(node, revealSecrets: revealSecrets)) }
    }

}

/// `tree show --json`: the installed accounts with their provenance, and the nodes.
struct TreeListing: Encodable {
    let tree: String
    let accounts: [TreeExport.InstalledAccountJSON]
    let nodes: [TreeNodeJSON]
}

/// How a stored node is shown: a decoded node's form and its ACL; a node
/// whose ACL has no Get is redacted.
struct TreeNodeJSON: Encodable {
    var node: BootstrapJSON.Node
    let acl: String

    static func object(_ node: StoredNode, revealSecrets: Bool) -> TreeNodeJSON {
        var shown = BootstrapJSON.node(for: DMNode(path: node.path, format: node.format, type: node.type, value: node.value),
                                       revealSecrets: revealSecrets || node.isReadable)
        if !node.isReadable {
            shown.secret = true
            if !revealSecrets, let value = node.value { shown.redact(size: value.count) }
        }
        return TreeNodeJSON(node: shown, acl: node.acl)
    }

    static func line(_ node: StoredNode, revealSecrets: Bool) -> String {
        "\(node.path)  (\(node.format.rawValue))  \(object(node, revealSecrets: revealSecrets).node.shown)"
    }

    enum CodingKeys: String, CodingKey {
        case acl
    }

    func encode(to encoder: any Encoder) throws {
        try node.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(acl, forKey: .acl)
    }
}

struct TreeGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print one node's value; nodes without Get in their ACL need --reveal-secrets.")

    @Argument(help: ArgumentHelp("The node, such as ./DMAcc/DemoServer/ServerID.", valueName: "path"))
    var path: String

    @OptionGroup var treeOptions: TreeOptions

    @Flag(help: "Show the value of a secret node.")
    var revealSecrets = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try treeOptions.open().node(at: path)
        guard node.isReadable || revealSecrets else { throw TreeStoreError.secretNode(node.path) }
        if output.json {
            try Output.json(TreeNodeJSON.object(node, revealSecrets: true))
        } else if let value = node.value {
            if node.format.isBinary || String(validating: value, as: UTF8.self) == nil {
                Output.line(Data(value).base64EncodedString())
            } else {
                Output.line(String(decoding: value, as: UTF8.self))
            }
        } else {
            for child in try treeOptions.open().nodes(under: node.path).dropFirst() { Output.line(child.path) }
        }
    }
}

struct TreeExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write the accounts as TNDS XML or JSON (secret values only with --reveal-secrets).")

    @OptionGroup var treeOptions: TreeOptions

    @Option(help: ArgumentHelp("tnds or json.", valueName: "format"))
    var format = "tnds"

    @Option(help: ArgumentHelp("Write to this file (mode 0600) instead of standard output.", valueName: "file"))
    var out: String?

    @Flag(help: "Include secret values (needed for an export that import can restore).")
    var revealSecrets = false

    func validate() throws {
        guard ["tnds", "json"].contains(format) else { throw ValidationError("--format takes tnds or json") }
    }

    func run() throws {
        let store = try treeOptions.open()
        let accounts = try store.accounts()
        let data: Data
        if format == "json" {
            data = try JSONOutput.document(TreeExport.json(accounts, revealSecrets: revealSecrets)) + Data("\n".utf8)
        } else {
            let acls = Dictionary(uniqueKeysWithValues: try store.nodes().map { ($0.path, $0.acl) })
            data = Data(TreeExport.tnds(accounts, acls: acls, revealSecrets: revealSecrets).utf8)
        }
        if let out {
            try PrivateFile.write(data, to: out)
        } else {
            FileHandle.standardOutput.write(data)
        }
        let leftOut = TreeExport.leftOutSecrets(accounts, revealSecrets: revealSecrets)
        if !leftOut.isEmpty {
            Output.progress("dmboot: \(leftOut.count) secret value(s) were left out of the export (no --reveal-secrets); "
                            + "it cannot restore them, and tree import refuses it without --allow-missing-secrets")
        }
    }
}

struct TreeImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Install the accounts of a TNDS or JSON export (provenance: manual), in one transaction.")

    @Argument(help: ArgumentHelp("The file to import.", valueName: "file"))
    var file: String

    @OptionGroup var treeOptions: TreeOptions

    @Flag(help: "Import an export made without --reveal-secrets: its secret nodes are restored with empty values.")
    var allowMissingSecrets = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let tree = try treeOptions.pathForWriting()
        let data = try InputFile.read(file, limit: InputFile.documentLimit)
        let accounts: [DMAccount]
        let leftOut: [String]
        if data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) == UInt8(ascii: "{") {
            (accounts, leftOut) = try TreeExport.accounts(fromJSON: data)
        } else {
            accounts = try BootstrapDecoder().decode([UInt8](data), format: .tnds).accounts
            leftOut = try TreeExport.secretsWithoutValue(inTNDS: [UInt8](data))
        }
        guard leftOut.isEmpty || allowMissingSecrets else { throw ImportError.secretsLeftOut(leftOut) }
        if !leftOut.isEmpty {
            Output.progress("dmboot: warning: \(leftOut.count) secret value(s) were not in \(file) and are restored empty: "
                            + leftOut.joined(separator: ", "))
        }
        let warnings = try AccountValidator().validate(DecodedBootstrap(encoding: .xml, documentType: .tnds, publicID: nil,
                                                                        accounts: accounts, otherNodes: [], ignoredCommands: []),
                                                       excused: Set(leftOut))
        let report = try TreeInstaller(path: tree, busyTimeout: treeOptions.busyTimeout)
            .install(accounts, provenance: Provenance(source: .manual, document: (file as NSString).lastPathComponent),
                     prune: false, dryRun: false)
        if output.json {
            try Output.json(ImportReport(added: report.added, replaced: report.replaced, unchanged: report.unchanged,
                                         tree: tree, warnings: ValidationWarnings.json(warnings)))
        } else {
            ValidationWarnings.print(warnings)
            Output.line("imported \(accounts.count) account(s) into \(tree): \(report.added.count) added, \(report.replaced.count) replaced, \(report.unchanged.count) unchanged")
        }
    }
}

struct TreeDeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a node and everything under it (an account root removes the account).")

    @Argument(help: ArgumentHelp("The node, such as ./DMAcc/Backup.", valueName: "path"))
    var path: String

    @OptionGroup var treeOptions: TreeOptions

    func run() throws {
        let count = try treeOptions.open().delete(path)
        Output.line("deleted \(count) node(s) at and under \(path)")
    }
}

/// `tree import --json`.
struct ImportReport: Encodable {
    let added: [String]
    let replaced: [String]
    let unchanged: [String]
    let tree: String
    let warnings: [BootstrapJSON.Warning]
}
