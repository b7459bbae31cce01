/// An Answer-To-Reset decoded as ISO/IEC 7816-3 section 8.2 lays it out:
/// TS, T0, the interface byte groups chained by TDi, the historical bytes and TCK.
public struct ATR: Equatable, Sendable {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case invalidInitialByte(UInt8)
        case truncated(expected: Int, actual: Int)
        case checksumMismatch(expected: UInt8, actual: UInt8)
        case trailingBytes(Int)

        public var description: String {
            switch self {
            case .tooShort(let count): return "an ATR has at least TS and T0; got \(count) bytes"
            case .invalidInitialByte(let ts): return "TS \(Hex.encode([ts])) is neither 3B (direct) nor 3F (inverse)"
            case .truncated(let expected, let actual): return "the ATR announces \(expected) bytes but has \(actual)"
            case .checksumMismatch(let expected, let actual):
                return "TCK is \(Hex.encode([actual])) but the XOR of T0..Tk gives \(Hex.encode([expected]))"
            case .trailingBytes(let count): return "\(count) bytes follow the ATR's last field"
            }
        }
    }

    /// One group of interface bytes; `protocolNumber` is the T announced by the TD that introduced it.
    public struct InterfaceGroup: Equatable, Sendable {
        public var ta: UInt8?
        public var tb: UInt8?
        public var tc: UInt8?
        public var td: UInt8?
    }

    public let bytes: [UInt8]
    public let convention: Convention
    public let groups: [InterfaceGroup]
    public let historicalBytes: [UInt8]
    public let checkByte: UInt8?

    public enum Convention: String, Sendable { case direct, inverse }

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 2 else { throw ParseError.tooShort(bytes.count) }
        switch bytes[0] {
        case 0x3B: convention = .direct
        case 0x3F: convention = .inverse
        default: throw ParseError.invalidInitialByte(bytes[0])
        }
        self.bytes = bytes
        let t0 = bytes[1]
        let historicalCount = Int(t0 & 0x0F)
        var index = 2
        var groups: [InterfaceGroup] = []
        var indicator = t0 >> 4
        var protocolsBeyondT0 = false
        while true {
            var group = InterfaceGroup()
            func next() throws -> UInt8 {
                guard index < bytes.count else { throw ParseError.truncated(expected: index + 1, actual: bytes.count) }
                defer { index += 1 }
                return bytes[index]
            }
            if indicator & 0x1 != 0 { group.ta = try next() }
            if indicator & 0x2 != 0 { group.tb = try next() }
            if indicator & 0x4 != 0 { group.tc = try next() }
            if indicator & 0x8 != 0 { group.td = try next() }
            groups.append(group)
            guard let td = group.td else { break }
            if td & 0x0F != 0 { protocolsBeyondT0 = true }
            indicator = td >> 4
        }
        self.groups = groups
        let historicalEnd = index + historicalCount
        guard historicalEnd <= bytes.count else {
            throw ParseError.truncated(expected: historicalEnd, actual: bytes.count)
        }
        historicalBytes = Array(bytes[index..<historicalEnd])
        index = historicalEnd
        // TCK is present unless T=0 is the only protocol announced.
        if protocolsBeyondT0 {
            guard index < bytes.count else { throw ParseError.truncated(expected: index + 1, actual: bytes.count) }
            let computed = bytes[1..<index].reduce(0, ^)
            guard computed == bytes[index] else {
                throw ParseError.checksumMismatch(expected: computed, actual: bytes[index])
            }
            checkByte = bytes[index]
            index += 1
        } else {
            checkByte = nil
        }
        guard index == bytes.count else { throw ParseError.trailingBytes(bytes.count - index) }
    }

    /// Transmission protocols the card offers (T=0 when no TD names another).
    public var protocols: [Int] {
        var found: [Int] = []
        for group in groups {
            if let td = group.td {
                let t = Int(td & 0x0F)
                if !found.contains(t) { found.append(t) }
            }
        }
        return found.isEmpty ? [0] : found.filter { $0 != 15 }
    }

    /// Fi/Di from TA1 (clock rate conversion and baud rate adjustment factors).
    public var clockRateConversion: (fi: Int, di: Int)? {
        guard let ta1 = groups.first?.ta else { return nil }
        let fiTable = [372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0]
        let diTable = [0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0]
        return (fiTable[Int(ta1 >> 4)], diTable[Int(ta1 & 0x0F)])
    }

    /// Whether the card says (compact-TLV card capabilities, tag 7, third
    /// software function table, b7) that it takes extended Lc and Le.
    public var supportsExtendedLength: Bool {
        guard historicalBytes.first == 0x80 else { return false }
        var index = 1
        while index < historicalBytes.count {
            let tag = historicalBytes[index] >> 4
            let length = Int(historicalBytes[index] & 0x0F)
            guard index + 1 + length <= historicalBytes.count else { return false }
            if tag == 0x7 && length >= 3 { return historicalBytes[index + 3] & 0x40 != 0 }
            index += 1 + length
        }
        return false
    }

    /// Historical bytes as printable text when they are (many cards put a name there).
    public var historicalText: String? {
        let body = historicalBytes.first == 0x80 || historicalBytes.first == 0x00
            ? Array(historicalBytes.dropFirst()) : historicalBytes
        guard !body.isEmpty, body.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: body, as: UTF8.self)
    }
}
