import APDU

extension VirtualCard {
    /// UPDATE BINARY (ISO/IEC 7816-4:2005 7.2.5) of the current EF at the
    /// offset in P1-P2, after the EF's access conditions: a secure channel
    /// at its update level and its PIN verified, else 6982. The EF never
    /// grows: data past its end is 6700 and nothing is written.
    func updateBinary(_ command: CommandAPDU, file: CardFile?) -> ResponseAPDU {
        guard let ef = file, !ef.isDF else { return Self.error(0x6986) }
        guard let content = ef.content else { return Self.error(0x6981) }
        guard command.p1 & 0x80 == 0 else { return Self.error(0x6A86) }
        if ef.updateLevel != 0 {
            let level = securityLevel(on: LogicalChannel.decode(cla: command.cla).number)?.rawValue ?? 0
            guard level & ef.updateLevel == ef.updateLevel else { return Self.error(0x6982) }
        }
        if let reference = ef.updatePIN, !pins.verified.contains(reference) { return Self.error(0x6982) }
        let offset = Int(command.p1) << 8 | Int(command.p2)
        guard offset < content.count else { return Self.error(0x6B00) }
        guard !command.data.isEmpty else { return Self.error(0x6700) }
        guard offset + command.data.count <= content.count else { return Self.error(0x6700) }
        ef.content?.replaceSubrange(offset..<(offset + command.data.count), with: command.data)
        return ResponseAPDU(status: .success)
    }
}
