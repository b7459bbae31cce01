/// A logical channel number and the class byte that addresses it.
///
/// ISO/IEC 7816-4 5.4.1: channels 0-3 use the first interindustry class
/// (`000x xxcc`, secure messaging in b4-b3); channels 4-19 use the further
/// interindustry class (`01xx cccc`, channel - 4 in b4-b1, secure messaging in
/// b6). GlobalPlatform's proprietary class (b8 set) uses the same channel bits.
public struct LogicalChannel: Hashable, Sendable, CustomStringConvertible {
    public static let basic = LogicalChannel(uncheckedNumber: 0)
    public static let range = 0...19

    public let number: Int

    public init(_ number: Int) throws {
        guard Self.range.contains(number) else { throw APDUError.channelOutOfRange(number) }
        self.number = number
    }

    private init(uncheckedNumber: Int) { number = uncheckedNumber }

    public var description: String { "channel \(number)" }

    /// The class byte for `cla` (written for channel 0) on this channel,
    /// keeping the proprietary bit (b8) and the command-chaining bit (b5).
    public func encode(cla: UInt8, secureMessaging: Bool = false) -> UInt8 {
        let proprietary = cla & 0x80
        let chaining = cla & 0x10
        if number <= 3 {
            let sm: UInt8 = secureMessaging ? 0x04 : (cla & 0x0C)
            return proprietary | chaining | sm | UInt8(number)
        }
        let sm: UInt8 = secureMessaging ? 0x20 : 0
        return proprietary | 0x40 | sm | chaining | UInt8(number - 4)
    }

    /// The channel a class byte addresses.
    public static func decode(cla: UInt8) -> LogicalChannel {
        if cla & 0x40 == 0 {
            return LogicalChannel(uncheckedNumber: Int(cla & 0x03))
        }
        return LogicalChannel(uncheckedNumber: Int(cla & 0x0F) + 4)
    }

    /// Whether a class byte marks secure messaging (either class form).
    public static func hasSecureMessaging(cla: UInt8) -> Bool {
        cla & 0x40 == 0 ? cla & 0x0C != 0 : cla & 0x20 != 0
    }
}

/// Commands that every ISO/IEC 7816-4 card understands.
public enum ISOCommand {
    /// MANAGE CHANNEL open: the card picks the channel and returns its number.
    public static func openChannel() -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0x70, p1: 0x00, p2: 0x00, expectedLength: 1)
    }

    /// MANAGE CHANNEL close, sent on the basic channel.
    public static func closeChannel(_ channel: LogicalChannel) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0x70, p1: 0x80, p2: UInt8(channel.number))
    }

    /// SELECT by DF name (AID), first or only occurrence. P2 04 asks for the
    /// FCP template, the only answer besides "no data" (0C) that ETSI TS 102 221
    /// table 11.2 lets a UICC give; `SelectResponse` names the three forms.
    public static func selectApplication(_ aid: [UInt8], response: SelectResponse = .fcp) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: response.rawValue,
                    data: aid, expectedLength: response == .none ? nil : 256)
    }

    /// The file control information a SELECT asks for (ISO/IEC 7816-4 table 40, P2 b4-b3).
    public enum SelectResponse: UInt8, Sendable, CaseIterable {
        /// FCI template (6F): ISO cards and GlobalPlatform security domains; a UICC answers 6A86.
        case fci = 0x00
        /// FCP template (62): every UICC (TS 102 221 11.1.1.3) and most ISO cards.
        case fcp = 0x04
        /// No response data.
        case none = 0x0C

        /// The order dmboot tries: FCP first, then FCI, then no data, moving on
        /// only when the card refuses P2 itself (6A86 or 6B00).
        public static let fallbackOrder: [SelectResponse] = [.fcp, .fci, .none]
    }

    /// SELECT by file identifier, relative to the current DF.
    public static func selectFile(_ fid: UInt16, returnFCP: Bool = false) -> CommandAPDU {
        selectFile(fid, response: returnFCP ? .fcp : .none)
    }

    /// SELECT by file identifier asking for `response`.
    public static func selectFile(_ fid: UInt16, response: SelectResponse) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x00, p2: response.rawValue,
                    data: [UInt8(fid >> 8), UInt8(fid & 0xFF)], expectedLength: response == .none ? nil : 256)
    }

    /// SELECT by path. `fromMF` paths omit 3F00 (P1 08); otherwise the path
    /// starts at the current DF (P1 09).
    public static func selectPath(_ path: [UInt8], fromMF: Bool, returnFCP: Bool = false) -> CommandAPDU {
        selectPath(path, fromMF: fromMF, response: returnFCP ? .fcp : .none)
    }

    /// SELECT by path asking for `response`.
    public static func selectPath(_ path: [UInt8], fromMF: Bool, response: SelectResponse) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xA4, p1: fromMF ? 0x08 : 0x09, p2: response.rawValue,
                    data: path, expectedLength: response == .none ? nil : 256)
    }

    /// READ BINARY at a 15-bit offset of the current EF.
    public static func readBinary(offset: Int, length: Int) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xB0, p1: UInt8((offset >> 8) & 0x7F), p2: UInt8(offset & 0xFF),
                    expectedLength: length)
    }

    /// READ RECORD by absolute record number of the current EF.
    public static func readRecord(_ number: Int, length: Int = 256) -> CommandAPDU {
        CommandAPDU(cla: 0x00, ins: 0xB2, p1: UInt8(number), p2: 0x04, expectedLength: length)
    }

    /// GET RESPONSE for the bytes a 61xx announced.
    public static func getResponse(_ length: Int, cla: UInt8 = 0x00) -> CommandAPDU {
        CommandAPDU(cla: cla, ins: 0xC0, p1: 0x00, p2: 0x00, expectedLength: length)
    }
}
