import APDU

/// The card's files at run time: built once from a profile, with parent links
/// so that SELECT can move up and sideways as ISO/IEC 7816-4 allows.
final class CardFile {
    let fid: UInt16
    let aid: [UInt8]?
    let selectableByName: Bool
    let sfi: Int?
    weak var parent: CardFile?
    private(set) var children: [CardFile] = []
    /// A transparent EF's bytes; UPDATE BINARY changes them in place.
    var content: [UInt8]?
    let records: [[UInt8]]?
    /// Protections a secure channel must give before this EF may be read.
    let readLevel: UInt8
    /// What UPDATE BINARY needs: a secure channel at this level, a verified PIN.
    let updateLevel: UInt8
    let updatePIN: UInt8?

    var isDF: Bool { content == nil && records == nil }

    init(node: FileNode, parent: CardFile?) throws {
        fid = UInt16(try Hex.decode(node.fid).reduce(0) { Int($0) << 8 | Int($1) })
        aid = try node.aid.map(Hex.decode)
        selectableByName = node.selectableByName ?? true
        sfi = node.sfi
        readLevel = try node.readLevel.map { try Hex.decode($0).first ?? 0 } ?? 0
        updateLevel = try node.updateLevel.map { try Hex.decode($0).first ?? 0 } ?? 0
        updatePIN = try node.updatePIN.map { try Hex.decode($0).first ?? 0 }
        self.parent = parent
        if let records = node.records {
            self.records = try records.map(Hex.decode)
            content = nil
        } else if node.children == nil {
            let body = try Hex.decode(node.content ?? "")
            let padByte = try node.padding.map(Hex.decode)?.first ?? 0xFF
            let size = max(node.size ?? body.count, body.count)
            content = body + [UInt8](repeating: padByte, count: size - body.count)
            records = nil
        } else {
            content = nil
            records = nil
        }
        children = try (node.children ?? []).map { try CardFile(node: $0, parent: self) }
    }

    func child(_ fid: UInt16) -> CardFile? { children.first { $0.fid == fid } }

    func child(sfi: Int) -> CardFile? { children.first { $0.sfi == sfi && !$0.isDF } }

    /// The AID of the application this file belongs to: its own or its nearest DF ancestor's.
    var applicationID: [UInt8]? {
        var node: CardFile? = self
        while let current = node {
            if let aid = current.aid { return aid }
            node = current.parent
        }
        return nil
    }

    /// Depth-first search for a DF by name (AID); a right-truncated name
    /// selects the first DF whose name starts with it (ISO/IEC 7816-4 7.1.1).
    func findApplication(_ name: [UInt8]) -> CardFile? {
        if let aid, !name.isEmpty, aid.starts(with: name), selectableByName { return self }
        for child in children where child.isDF {
            if let found = child.findApplication(name) { return found }
        }
        return nil
    }

    /// File control information, as a SELECT with P2 00 (FCI) or 04 (FCP) returns it.
    func controlParameters(template: UInt8, withFileID: Bool = true) -> [UInt8] {
        var body: [UInt8] = []
        if let content {
            body += [0x80, 0x02, UInt8(content.count >> 8), UInt8(content.count & 0xFF)]
            body += [0x82, 0x01, 0x01]
        } else if let records {
            let length = records.map(\.count).max() ?? 0
            body += [0x82, 0x05, 0x02, 0x21, 0x00, UInt8(length), UInt8(records.count)]
        } else {
            body += [0x82, 0x01, 0x38]
        }
        if withFileID { body += [0x83, 0x02, UInt8(fid >> 8), UInt8(fid & 0xFF)] }
        if let aid { body += [0x84, UInt8(aid.count)] + aid }
        body += [0x8A, 0x01, 0x05]
        return [template, UInt8(body.count)] + body
    }
}
