/// A response APDU: the data field and the status word that ends it.
public struct ResponseAPDU: Equatable, Sendable, CustomStringConvertible {
    public var data: [UInt8]
    public var status: StatusWord

    public init(data: [UInt8] = [], status: StatusWord) {
        self.data = data
        self.status = status
    }

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 2 else { throw APDUError.responseTooShort(bytes.count) }
        data = Array(bytes[..<(bytes.count - 2)])
        status = StatusWord(bytes[bytes.count - 2], bytes[bytes.count - 1])
    }

    public var bytes: [UInt8] { data + [status.sw1, status.sw2] }

    public var description: String {
        data.isEmpty ? status.hex : "\(data.hexString) \(status.hex)"
    }
}

/// SW1 SW2, with the ISO/IEC 7816-4 meaning a person needs when reading a trace.
public struct StatusWord: Hashable, Sendable, CustomStringConvertible {
    public let sw1: UInt8
    public let sw2: UInt8

    public init(_ sw1: UInt8, _ sw2: UInt8) {
        self.sw1 = sw1
        self.sw2 = sw2
    }

    public init(_ value: UInt16) {
        self.init(UInt8(value >> 8), UInt8(value & 0xFF))
    }

    public static let success = StatusWord(0x9000)

    public var value: UInt16 { UInt16(sw1) << 8 | UInt16(sw2) }
    public var hex: String { Hex.encode([sw1, sw2]) }

    /// 9000 and 61xx: the command was processed normally.
    public var isSuccess: Bool { sw1 == 0x90 && sw2 == 0x00 || sw1 == 0x61 }
    /// 62xx and 63xx: processed, with a warning; data may still be valid.
    public var isWarning: Bool { sw1 == 0x62 || sw1 == 0x63 }
    /// Anything that is neither success nor a warning.
    public var isError: Bool { !isSuccess && !isWarning }

    public var description: String { "\(hex) (\(meaning))" }

    /// What the status word means, in plain words, from ISO/IEC 7816-4 section 5.6
    /// and GlobalPlatform where ISO leaves it to the application.
    public var meaning: String {
        switch (sw1, sw2) {
        case (0x90, 0x00): return "normal processing"
        case (0x61, _): return "success, \(sw2 == 0 ? 256 : Int(sw2)) more bytes available with GET RESPONSE"
        case (0x62, 0x00): return "warning: non-volatile memory unchanged"
        case (0x62, 0x81): return "warning: part of the returned data may be corrupted"
        case (0x62, 0x82): return "warning: end of file or record reached before reading Ne bytes"
        case (0x62, 0x83): return "warning: selected file deactivated"
        case (0x62, 0x84): return "warning: file control information not formatted as ISO 7816-4 says"
        case (0x62, 0x85): return "warning: selected file in termination state"
        case (0x62, _): return "warning: non-volatile memory unchanged"
        case (0x63, 0x00): return "warning: verification or authentication failed"
        case (0x63, 0x10): return "warning: more data available"
        case (0x63, 0x81): return "warning: file filled up by the last write"
        case (0x63, let x) where x & 0xF0 == 0xC0: return "warning: counter is \(x & 0x0F) (tries left)"
        case (0x63, _): return "warning: non-volatile memory changed"
        case (0x64, 0x00): return "error: execution error, memory unchanged"
        case (0x64, _): return "error: execution error, memory unchanged"
        case (0x65, 0x81): return "error: memory failure"
        case (0x65, _): return "error: execution error, memory changed"
        case (0x66, _): return "error: security-related issue"
        case (0x67, 0x00): return "error: wrong length (Lc or Le)"
        case (0x68, 0x81): return "error: logical channel not supported"
        case (0x68, 0x82): return "error: secure messaging not supported"
        case (0x68, 0x83): return "error: last command of the chain expected"
        case (0x68, 0x84): return "error: command chaining not supported"
        case (0x68, _): return "error: functions in CLA not supported"
        case (0x69, 0x81): return "error: command incompatible with file structure"
        case (0x69, 0x82): return "error: security status not satisfied"
        case (0x69, 0x83): return "error: authentication method blocked"
        case (0x69, 0x84): return "error: reference data not usable"
        case (0x69, 0x85): return "error: conditions of use not satisfied"
        case (0x69, 0x86): return "error: command not allowed (no current EF)"
        case (0x69, 0x87): return "error: expected secure messaging data objects missing"
        case (0x69, 0x88): return "error: incorrect secure messaging data objects"
        case (0x69, _): return "error: command not allowed"
        case (0x6A, 0x80): return "error: incorrect parameters in the data field"
        case (0x6A, 0x81): return "error: function not supported"
        case (0x6A, 0x82): return "error: file or application not found"
        case (0x6A, 0x83): return "error: record not found"
        case (0x6A, 0x84): return "error: not enough memory space in the file"
        case (0x6A, 0x86): return "error: incorrect parameters P1-P2"
        case (0x6A, 0x87): return "error: Nc inconsistent with P1-P2"
        case (0x6A, 0x88): return "error: referenced data or reference data not found"
        case (0x6A, _): return "error: wrong parameters P1-P2"
        case (0x6B, 0x00): return "error: wrong parameters P1-P2 (offset outside the EF)"
        case (0x6C, _): return "error: wrong Le; \(sw2 == 0 ? 256 : Int(sw2)) bytes available"
        case (0x6D, 0x00): return "error: instruction code not supported or invalid"
        case (0x6E, 0x00): return "error: class not supported"
        case (0x6F, 0x00): return "error: no precise diagnosis"
        default: return "unknown status"
        }
    }
}
