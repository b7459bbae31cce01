/// Reads an OMA DM TNDS document (MgmtTree of Nodes with RTProperties and
/// Values): the nodes under DMAcc become accounts.
struct TNDSReader {
    func read(_ document: Document, encoding: DecodedBootstrap.Encoding) throws -> DecodedBootstrap {
        var accounts: [String: DMAccount] = [:]
        var order: [String] = []
        var other: [String] = []
        func visit(_ node: Element, parent: String) throws {
            guard let name = node.child("NodeName")?.text.trimmed else {
                throw BootstrapError.malformedItem(command: "Node", reason: "a Node under \(parent.isEmpty ? "MgmtTree" : parent) has no NodeName")
            }
            // A NodeName is one name: "DemoServer/AppAuth" would write into another account's nodes.
            if let problem = NodeName.problem(name) {
                throw BootstrapError.malformedItem(command: "Node", reason: "NodeName \"\(name)\" under \(parent.isEmpty ? "MgmtTree" : parent): \(problem)")
            }
            let base = node.child("Path")?.text.trimmed ?? parent
            let path = [base, name].filter { !$0.isEmpty }.joined(separator: "/")
            let properties = node.child("RTProperties")
            let children = node.children(named: "Node")
            let formatName = properties?.child("Format")?.children.first?.name ?? (children.isEmpty ? "chr" : "node")
            guard let format = NodeFormat(rawValue: formatName) else {
                throw BootstrapError.malformedItem(command: "Node", reason: "\(path) has Format \(formatName)")
            }
            let typeElement = properties?.child("Type")
            let type = (typeElement?.child("MIME") ?? typeElement?.child("DDFName"))?.text.trimmed
            var value: [UInt8]?
            if let carried = node.child("Value") {
                guard let converted = NodeData.value(carried.bytes, format: format, opaque: carried.isOpaque) else {
                    throw BootstrapError.malformedItem(command: "Node", reason: "\(path) is \(format.rawValue) but its Value is not base64")
                }
                value = converted
            } else if format != .node {
                value = []
            }
            if let (account, inner) = try AccountPath.split(path, root: ["DMAcc"]) {
                if accounts[account] == nil {
                    accounts[account] = DMAccount(name: account, source: .tnds)
                    order.append(account)
                }
                if !inner.isEmpty {
                    accounts[account]!.set(DMNode(path: inner, format: format, type: type, value: format == .node ? nil : value))
                }
            } else if format != .node {
                other.append(path)
            }
            for child in children { try visit(child, parent: path) }
        }
        for node in document.root.children(named: "Node") { try visit(node, parent: "") }
        return DecodedBootstrap(encoding: encoding, documentType: .tnds, publicID: document.publicID,
                                accounts: order.map { accounts[$0]! }, otherNodes: other, ignoredCommands: [])
    }
}
