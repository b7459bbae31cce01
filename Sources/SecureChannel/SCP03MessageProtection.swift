import APDU
import CardCrypto

/// Behaviours of other SCP03 implementations that differ from Amendment D.
/// Off by default; they exist so that traces of those implementations can be
/// replayed byte for byte (see the vectors' README), never to talk to cards.
public struct SCP03Compatibility: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Yubico SDKs: an empty command data field is encrypted as one padding block.
    public static let encryptEmptyCommandData = SCP03Compatibility(rawValue: 1)
    /// Legacy Yubico .NET and old GPPro: every wrapped command gets CLA |= 84.
    public static let proprietaryClassOnWrappedCommands = SCP03Compatibility(rawValue: 2)
    /// Accept response padding longer than one block (seen in emulator transcripts).
    public static let lenientResponsePadding = SCP03Compatibility(rawValue: 4)
    /// Cards that advance the encryption counter only for commands with data,
    /// against Amendment D 6.2.6 ("the counter shall still be incremented").
    /// GlobalPlatformPro carries the same workaround (SCP03Wrapper, system
    /// property globalplatformpro.scp03.buggycounterworkaround). A per-card
    /// setting: key files name it "counter-data-only" (dmboot-keys(5)).
    public static let counterOnlyWithCommandData = SCP03Compatibility(rawValue: 8)

    /// The names key files and card profiles use for the settings meant for cards.
    public static let names: [String: SCP03Compatibility] = ["counter-data-only": .counterOnlyWithCommandData]

    /// Parses names such as "counter-data-only"; `nil` for an unknown name.
    public init?(names list: [String]) {
        var value: SCP03Compatibility = []
        for name in list {
            guard let setting = Self.names[name.lowercased()] else { return nil }
            value.insert(setting)
        }
        self = value
    }

    public var nameList: [String] { Self.names.filter { contains($0.value) }.map(\.key).sorted() }
}

/// The secure messaging of one SCP03 session: C-MAC chaining, the encryption
/// counter, C-DECRYPTION, R-MAC and R-ENCRYPTION. Both ends use it: the host
/// wraps commands and unwraps responses, a card does the reverse, so both
/// directions are checked against the same known-answer vectors.
///
/// Rules that implementations get wrong, kept here on purpose: the counter
/// moves on every command (data-less and failed ones too); an empty data field
/// is not encrypted; the MAC covers the encrypted data and Lc but not Le; an
/// error status carries no data and no R-MAC; warnings (62xx, 63xx) are
/// protected like 9000. A wrapped command that expects data carries Le 00
/// (0000 extended): the plain Ne counts plain bytes, while the card sends
/// them padded, encrypted and MACed, and Le is not MACed. pySim's SCP03
/// does the same (global_platform/scp.py) citing ISO/IEC 7816-4 5.1. The
/// C-MAC covers the class byte with its logical channel bits cleared
/// (Amendment D 6.2.4, ETSI TS 102 221 10.1.1), so the MAC does not depend
/// on the channel the command travels on.
public final class SCP03MessageProtection {
    public let level: SecurityLevel
    public let mode: ChallengeMode
    public let compatibility: SCP03Compatibility
    private let keys: SCP03SessionKeys
    /// The full CMAC of the last command (or of EXTERNAL AUTHENTICATE).
    public private(set) var chainingValue: [UInt8]
    /// Commands wrapped so far; the ICV of command n is AES(S-ENC, n).
    public private(set) var counter: UInt64
    /// Where the counter stops: 2^32 - 1, the width some cards keep it in.
    public let counterLimit: UInt64
    public private(set) var isOpen = true

    public init(keys: SCP03SessionKeys, level: SecurityLevel, mode: ChallengeMode,
                chainingValue: [UInt8], counter: UInt64 = 0, counterLimit: UInt64 = 0xFFFF_FFFF,
                compatibility: SCP03Compatibility = []) {
        self.keys = keys
        self.level = level
        self.mode = mode
        self.chainingValue = chainingValue
        self.counter = counter
        self.counterLimit = counterLimit
        self.compatibility = compatibility
    }

    var macLength: Int { mode.length }

    /// Ends the session and wipes the session keys.
    public func close() {
        isOpen = false
        keys.wipe()
    }

    private func failing<T>(_ body: () throws -> T) throws -> T {
        guard isOpen else { throw SecureChannelError.sessionClosed }
        do {
            return try body()
        } catch {
            close()
            throw error
        }
    }

    // MARK: Limits

    /// The most plain command data one APDU can carry at this level.
    public func maxCommandData(extendedLength: Bool) -> Int {
        let field = extendedLength ? 65_535 : 255
        let room = field - (level.hasCommandMAC ? macLength : 0)
        return level.hasCommandDecryption ? (room / 16) * 16 - 1 : room
    }

    /// The most plain response data one APDU can bring back at this level.
    public func maxResponseData(extendedLength: Bool) -> Int {
        let field = extendedLength ? 65_536 : 256
        let room = field - (level.hasResponseMAC ? macLength : 0)
        return level.hasResponseEncryption ? (room / 16) * 16 - 1 : room
    }

    // MARK: Host side

    /// Protects a command for the card. With `extendedLength` a plain Ne
    /// whose protected answer cannot fit 256 bytes (240 and up at level 33 in
    /// S8) asks Le 0000 in extended form: the wire carries the wrapped length,
    /// not the plain one. `wireExpectedLength` puts that Le on the wire
    /// instead, for an applet that reads as many plain bytes as the wire Le
    /// says (Le is not MACed, Amendment D 6.2.4, so any Le travels).
    public func wrap(_ command: CommandAPDU, extendedLength: Bool = false, wireExpectedLength: Int? = nil) throws -> CommandAPDU {
        let shortRoom = maxResponseData(extendedLength: false)
        return try failing {
            try advanceCounter(commandHasData: !command.data.isEmpty)
            guard level.hasCommandMAC else { return command }
            var data = command.data
            if level.hasCommandDecryption && (!data.isEmpty || compatibility.contains(.encryptEmptyCommandData)) {
                data = try AES.encrypt(Self.pad(data), key: keys.enc, mode: .cbc, iv: commandICV())
            }
            let cla = wrappedClass(command.cla)
            var wrapped = CommandAPDU(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2,
                                      data: data + [UInt8](repeating: 0, count: macLength),
                                      expectedLength: command.expectedLength.map {
                                          if let wireExpectedLength { return wireExpectedLength }
                                          return $0 > 256 || (extendedLength && $0 > shortRoom) ? CommandAPDU.maxExpectedLength : 256
                                      })
            guard data.count + macLength <= CommandAPDU.maxDataLength else {
                throw SecureChannelError.commandTooLong(plain: command.data.count,
                                                        limit: maxCommandData(extendedLength: true))
            }
            let mac = try commandMAC(cla: cla, command: command, data: data, extended: wrapped.needsExtendedLength)
            wrapped.data = data + mac
            return wrapped
        }
    }

    /// Checks and opens a response from the card.
    public func unwrap(_ response: ResponseAPDU) throws -> ResponseAPDU {
        try failing {
            guard level.hasResponseMAC else { return response }
            if response.status.isError {
                guard response.data.isEmpty else {
                    throw SecureChannelError.dataWithErrorStatus(response.status, length: response.data.count)
                }
                return response
            }
            guard response.data.count >= macLength else { throw SecureChannelError.responseMACMissing(response.status) }
            let body = Array(response.data.dropLast(macLength))
            let received = Array(response.data.suffix(macLength))
            let expected = try responseMAC(body: body, status: response.status)
            guard Secure.constantTimeEquals(received, expected) else { throw SecureChannelError.responseMACMismatch }
            guard level.hasResponseEncryption, !body.isEmpty else {
                return ResponseAPDU(data: body, status: response.status)
            }
            guard body.count % 16 == 0 else { throw SecureChannelError.responseNotBlockAligned(body.count) }
            let plain = try AES.decrypt(body, key: keys.enc, mode: .cbc, iv: responseICV())
            return ResponseAPDU(data: try unpad(plain), status: response.status)
        }
    }

    // MARK: Card side

    /// Checks and opens a command from the host (what a card does).
    /// `extendedLength` says whether the command arrived in extended form,
    /// because Lc is MACed as it was sent.
    public func unwrapCommand(_ command: CommandAPDU, extendedLength: Bool) throws -> CommandAPDU {
        try failing {
            let hasData = level.hasCommandMAC ? command.data.count > macLength : !command.data.isEmpty
            try advanceCounter(commandHasData: hasData)
            guard level.hasCommandMAC else { return command }
            guard command.data.count >= macLength else { throw SecureChannelError.commandMACMismatch }
            let data = Array(command.data.dropLast(macLength))
            let received = Array(command.data.suffix(macLength))
            let expected = try commandMAC(cla: command.cla, command: command, data: data, extended: extendedLength)
            guard Secure.constantTimeEquals(received, expected) else { throw SecureChannelError.commandMACMismatch }
            var plain = data
            if level.hasCommandDecryption && !data.isEmpty {
                guard data.count % 16 == 0 else { throw SecureChannelError.responseNotBlockAligned(data.count) }
                plain = try unpad(try AES.decrypt(data, key: keys.enc, mode: .cbc, iv: commandICV()), strict: true)
            }
            let cla = command.cla & (command.cla & 0x40 == 0 ? ~UInt8(0x0C) : ~UInt8(0x20))
            return CommandAPDU(cla: cla, ins: command.ins, p1: command.p1, p2: command.p2, data: plain,
                               expectedLength: command.expectedLength)
        }
    }

    /// Protects a response for the host (what a card does).
    public func wrapResponse(_ response: ResponseAPDU) throws -> ResponseAPDU {
        try failing {
            guard level.hasResponseMAC, !response.status.isError else {
                return level.hasResponseMAC ? ResponseAPDU(status: response.status) : response
            }
            var body = response.data
            if level.hasResponseEncryption && !body.isEmpty {
                body = try AES.encrypt(Self.pad(body), key: keys.enc, mode: .cbc, iv: responseICV())
            }
            return ResponseAPDU(data: body + (try responseMAC(body: body, status: response.status)),
                                status: response.status)
        }
    }

    // MARK: Pieces

    private func advanceCounter(commandHasData: Bool) throws {
        if compatibility.contains(.counterOnlyWithCommandData) && !commandHasData { return }
        guard counter < counterLimit else { throw SecureChannelError.counterExhausted }
        counter += 1
    }

    /// The class byte with the secure-messaging indication of its class form.
    private func wrappedClass(_ cla: UInt8) -> UInt8 {
        if compatibility.contains(.proprietaryClassOnWrappedCommands) { return cla | 0x84 }
        return cla & 0x40 == 0 ? cla | 0x04 : cla | 0x20
    }

    private func commandMAC(cla: UInt8, command: CommandAPDU, data: [UInt8], extended: Bool) throws -> [UInt8] {
        let lc = data.count + macLength
        let lcField: [UInt8] = extended ? [0x00, UInt8(lc >> 8), UInt8(lc & 0xFF)] : [UInt8(lc)]
        let input = chainingValue + [Self.classForMAC(cla), command.ins, command.p1, command.p2] + lcField + data
        let full = try MAC.cmac(key: keys.mac, message: input)
        chainingValue = full
        return Array(full.prefix(macLength))
    }

    /// The class byte as the C-MAC sees it: logical channel bits cleared
    /// (b2-b1 in the first interindustry class, b4-b1 in the further one).
    static func classForMAC(_ cla: UInt8) -> UInt8 {
        cla & 0x40 == 0 ? cla & ~UInt8(0x03) : cla & ~UInt8(0x0F)
    }

    private func responseMAC(body: [UInt8], status: StatusWord) throws -> [UInt8] {
        let input = chainingValue + body + [status.sw1, status.sw2]
        return Array(try MAC.cmac(key: keys.rmac, message: input).prefix(macLength))
    }

    private func counterBlock(responseMarker: Bool) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 16)
        var value = counter
        for index in stride(from: 15, through: 8, by: -1) {
            block[index] = UInt8(value & 0xFF)
            value >>= 8
        }
        if responseMarker { block[0] = 0x80 }
        return block
    }

    private func commandICV() throws -> [UInt8] {
        try AES.encrypt(counterBlock(responseMarker: false), key: keys.enc, mode: .ecb)
    }

    private func responseICV() throws -> [UInt8] {
        try AES.encrypt(counterBlock(responseMarker: true), key: keys.enc, mode: .ecb)
    }

    /// ISO/IEC 9797-1 padding method 2: 80, then zeros to a whole block.
    static func pad(_ data: [UInt8]) -> [UInt8] {
        var padded = data + [0x80]
        while padded.count % 16 != 0 { padded.append(0x00) }
        return padded
    }

    private func unpad(_ data: [UInt8], strict: Bool = false) throws -> [UInt8] {
        guard let marker = data.lastIndex(where: { $0 != 0x00 }), data[marker] == 0x80 else {
            throw SecureChannelError.badPadding
        }
        let paddingLength = data.count - marker
        if paddingLength > 16 && (strict || !compatibility.contains(.lenientResponsePadding)) {
            throw SecureChannelError.badPadding
        }
        return Array(data[..<marker])
    }
}
