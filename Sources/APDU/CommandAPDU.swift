/// An ISO/IEC 7816-4 command APDU as a value: header, command data and the
/// number of response bytes expected (Ne). The wire form (case 1-4, short or
/// extended length) is derived from those values, never stored, so a command
/// cannot carry a length field that disagrees with its data.
public struct CommandAPDU: Equatable, Sendable, CustomStringConvertible {
    /// Largest Nc in an extended-length command.
    public static let maxDataLength = 65_535
    /// Largest Ne: extended Le `0000` means 65 536.
    public static let maxExpectedLength = 65_536

    public var cla: UInt8
    public var ins: UInt8
    public var p1: UInt8
    public var p2: UInt8
    public var data: [UInt8]
    /// Ne. `nil` means no Le field (cases 1 and 3). 256 is short Le `00`,
    /// 65 536 is extended Le `0000`.
    public var expectedLength: Int?

    public init(cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8,
                data: [UInt8] = [], expectedLength: Int? = nil) {
        self.cla = cla
        self.ins = ins
        self.p1 = p1
        self.p2 = p2
        self.data = data
        self.expectedLength = expectedLength
    }

    /// ISO 7816-4 case: 1 no data/no Le, 2 Le only, 3 data only, 4 both.
    public var isoCase: Int {
        switch (data.isEmpty, expectedLength == nil) {
        case (true, true): return 1
        case (true, false): return 2
        case (false, true): return 3
        case (false, false): return 4
        }
    }

    /// Whether the command needs extended length fields to be encoded.
    public var needsExtendedLength: Bool {
        data.count > 255 || (expectedLength ?? 0) > 256
    }

    /// The bytes sent to the card. Short form unless the lengths need the
    /// extended form or `forceExtended` asks for it (some cards accept only one).
    public func encoded(forceExtended: Bool = false) throws -> [UInt8] {
        guard data.count <= Self.maxDataLength else {
            throw APDUError.dataTooLong(data.count)
        }
        if let ne = expectedLength, ne < 1 || ne > Self.maxExpectedLength {
            throw APDUError.expectedLengthOutOfRange(ne)
        }
        var bytes = [cla, ins, p1, p2]
        let extended = forceExtended || needsExtendedLength
        if !data.isEmpty {
            if extended {
                bytes += [0x00, UInt8(data.count >> 8), UInt8(data.count & 0xFF)]
            } else {
                bytes.append(UInt8(data.count))
            }
            bytes += data
        }
        if let ne = expectedLength {
            if extended {
                let field = ne == Self.maxExpectedLength ? 0 : ne
                // Case 2E has its own leading 00; case 4E shares the one before Lc.
                if data.isEmpty { bytes.append(0x00) }
                bytes += [UInt8(field >> 8), UInt8(field & 0xFF)]
            } else {
                bytes.append(ne == 256 ? 0x00 : UInt8(ne))
            }
        }
        return bytes
    }

    /// Parses a command as a card (or a script) sees it.
    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 4 else { throw APDUError.commandTooShort(bytes.count) }
        self.init(cla: bytes[0], ins: bytes[1], p1: bytes[2], p2: bytes[3])
        let body = Array(bytes[4...])
        switch body.count {
        case 0:
            return
        case 1:
            expectedLength = body[0] == 0 ? 256 : Int(body[0])
            return
        default:
            break
        }
        if body[0] != 0 {
            // Short form: Lc data [Le]
            let lc = Int(body[0])
            switch body.count {
            case 1 + lc:
                data = Array(body[1...])
            case 2 + lc:
                data = Array(body[1..<(1 + lc)])
                let le = body[1 + lc]
                expectedLength = le == 0 ? 256 : Int(le)
            default:
                throw APDUError.inconsistentLength(declared: lc, available: body.count - 1)
            }
            return
        }
        // Extended form: 00 then two-byte Le (case 2E) or two-byte Lc data [Le2].
        guard body.count >= 3 else { throw APDUError.inconsistentLength(declared: 0, available: body.count) }
        let first = Int(body[1]) << 8 | Int(body[2])
        if body.count == 3 {
            expectedLength = first == 0 ? Self.maxExpectedLength : first
            return
        }
        guard first > 0 else { throw APDUError.inconsistentLength(declared: 0, available: body.count - 3) }
        switch body.count {
        case 3 + first:
            data = Array(body[3...])
        case 5 + first:
            data = Array(body[3..<(3 + first)])
            let le = Int(body[3 + first]) << 8 | Int(body[4 + first])
            expectedLength = le == 0 ? Self.maxExpectedLength : le
        default:
            throw APDUError.inconsistentLength(declared: first, available: body.count - 3)
        }
    }

    public var description: String {
        (try? encoded().hexString) ?? "\(Hex.encode([cla, ins, p1, p2])) (unencodable)"
    }
}

public enum APDUError: Error, Equatable, CustomStringConvertible {
    case dataTooLong(Int)
    case expectedLengthOutOfRange(Int)
    case commandTooShort(Int)
    case inconsistentLength(declared: Int, available: Int)
    case responseTooShort(Int)
    case channelOutOfRange(Int)

    public var description: String {
        switch self {
        case .dataTooLong(let count):
            return "command data of \(count) bytes exceeds the 65535 bytes an extended APDU can carry"
        case .expectedLengthOutOfRange(let ne):
            return "expected length \(ne) is outside 1...65536"
        case .commandTooShort(let count):
            return "a command APDU needs at least the 4 header bytes; got \(count)"
        case .inconsistentLength(let declared, let available):
            return "the length field says \(declared) data bytes but \(available) follow"
        case .responseTooShort(let count):
            return "a response APDU needs at least SW1 SW2; got \(count) bytes"
        case .channelOutOfRange(let channel):
            return "logical channel \(channel) is outside 0...19"
        }
    }
}
