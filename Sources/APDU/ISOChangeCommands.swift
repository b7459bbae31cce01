/// Commands that change a card: its files and its reference data (PINs).
/// Section numbers are ISO/IEC 7816-4:2005's.
extension ISOCommand {
    /// UPDATE BINARY (7.2.5, INS D6): replaces the bytes at a 15-bit offset
    /// of the current EF (P1 b8 = 0, so P1-P2 is the offset).
    public static func updateBinary(offset: Int, data: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xD6, p1: UInt8((offset >> 8) & 0x7F), p2: UInt8(offset & 0xFF), data: data)
    }

    /// VERIFY (7.5.6, INS 20, P1 00, P2 the reference). Without data it only
    /// asks how many tries are left (63Cx) or whether verification is
    /// still needed (9000): nothing is compared, nothing is counted.
    public static func verify(reference: UInt8, pin: [UInt8]? = nil) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: reference, data: pin ?? [])
    }

    /// CHANGE REFERENCE DATA (7.5.7, INS 24) with P1 00: the current
    /// reference data followed by the new, in one data field.
    public static func changeReferenceData(reference: UInt8, current: [UInt8], new: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0x24, p1: 0x00, p2: reference, data: current + new)
    }

    /// RESET RETRY COUNTER (7.5.10, INS 2C) with P1 00: the resetting code
    /// (the PUK) followed by the new reference data.
    public static func resetRetryCounter(reference: UInt8, resettingCode: [UInt8], new: [UInt8]) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0x2C, p1: 0x00, p2: reference, data: resettingCode + new)
    }
}
