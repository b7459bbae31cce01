import APDU

/// One PIN of a virtual card, as a profile describes it (dmboot(1),
/// SIMULATOR PROFILES): its reference, value, PUK and retry counters.
public struct PINProfile: Codable, Equatable, Sendable {
    /// Reference (P2 of VERIFY) in hex, e.g. "01".
    public var reference: String
    /// The PIN in ASCII, as a user types it.
    public var value: String
    /// Tries allowed before the PIN blocks (3 when absent).
    public var tries: Int?
    /// The unblocking key (PUK) in ASCII; without one the PIN cannot be unblocked.
    public var puk: String?
    /// Tries allowed before the PUK blocks (10 when absent).
    public var pukTries: Int?

    public init(reference: String, value: String, tries: Int? = nil, puk: String? = nil, pukTries: Int? = nil) {
        self.reference = reference
        self.value = value
        self.tries = tries
        self.puk = puk
        self.pukTries = pukTries
    }
}

/// The card's reference data and their retry counters, and the PINs
/// verified since the last reset. The commands are ISO/IEC 7816-4:2005's
/// VERIFY (7.5.6), CHANGE REFERENCE DATA (7.5.7, P1 00) and RESET RETRY
/// COUNTER (7.5.10, P1 00); each PIN travels as ETSI TS 102 221 9.5.1 codes
/// it, ASCII padded with FF to 8 bytes.
final class CardPINs {
    static let blockLength = 8

    private struct Counter {
        var value: [UInt8]
        var left: Int
        let limit: Int

        var blocked: Bool { left == 0 }

        /// Compares and counts: a match restores the tries, a miss uses one.
        mutating func check(_ presented: [UInt8]) -> Bool {
            if presented == value {
                left = limit
                return true
            }
            left -= 1
            return false
        }
    }

    private struct Entry {
        var pin: Counter
        var puk: Counter?
    }

    private var entries: [UInt8: Entry] = [:]
    private(set) var verified: Set<UInt8> = []

    init(_ profiles: [PINProfile]) throws {
        for profile in profiles {
            guard let reference = try? Hex.decode(profile.reference), reference.count == 1 else {
                throw ProfileError.invalid("pins: reference \"\(profile.reference)\" is not one hex byte")
            }
            let tries = profile.tries ?? 3, pukTries = profile.pukTries ?? 10
            guard (1...15).contains(tries), (1...15).contains(pukTries) else {
                throw ProfileError.invalid("pins \(profile.reference): tries and pukTries are 1 to 15 (63Cx has one digit)")
            }
            let pin = try Self.block(profile.value, what: "value", reference: profile.reference)
            let puk = try profile.puk.map { Counter(value: try Self.block($0, what: "puk", reference: profile.reference),
                                                    left: pukTries, limit: pukTries) }
            guard entries[reference[0]] == nil else { throw ProfileError.invalid("pins: reference \(profile.reference) twice") }
            entries[reference[0]] = Entry(pin: Counter(value: pin, left: tries, limit: tries), puk: puk)
        }
    }

    private static func block(_ text: String, what: String, reference: String) throws -> [UInt8] {
        let bytes = Array(text.utf8)
        guard (1...blockLength).contains(bytes.count) else {
            throw ProfileError.invalid("pins \(reference): \(what) is 1 to \(blockLength) characters")
        }
        return bytes + [UInt8](repeating: 0xFF, count: blockLength - bytes.count)
    }

    /// A reset forgets every verification.
    func reset() { verified = [] }

    func process(_ command: CommandAPDU) -> ResponseAPDU {
        guard var entry = entries[command.p2] else { return VirtualCard.error(0x6A88) }
        defer { entries[command.p2] = entry }
        switch (command.ins, command.p1) {
        case (0x20, 0x00):
            if entry.pin.blocked { return VirtualCard.error(0x6983) }
            if command.data.isEmpty {
                return verified.contains(command.p2) ? ResponseAPDU(status: .success) : triesLeft(entry.pin)
            }
            guard command.data.count == Self.blockLength else { return VirtualCard.error(0x6700) }
            return present(Array(command.data), to: &entry.pin, reference: command.p2)
        case (0x24, 0x00):
            if entry.pin.blocked { return VirtualCard.error(0x6983) }
            guard command.data.count == 2 * Self.blockLength else { return VirtualCard.error(0x6700) }
            let answer = present(Array(command.data.prefix(Self.blockLength)), to: &entry.pin, reference: command.p2)
            if answer.status == .success { entry.pin.value = Array(command.data.suffix(Self.blockLength)) }
            return answer
        case (0x2C, 0x00):
            guard var puk = entry.puk else { return VirtualCard.error(0x6985) }
            defer { entry.puk = puk }
            if puk.blocked { return VirtualCard.error(0x6983) }
            guard command.data.count == 2 * Self.blockLength else { return VirtualCard.error(0x6700) }
            guard puk.check(Array(command.data.prefix(Self.blockLength))) else { return triesLeft(puk) }
            entry.pin.value = Array(command.data.suffix(Self.blockLength))
            entry.pin.left = entry.pin.limit
            verified.remove(command.p2)
            return ResponseAPDU(status: .success)
        default:
            return VirtualCard.error(0x6A86)
        }
    }

    private func present(_ pin: [UInt8], to counter: inout Counter, reference: UInt8) -> ResponseAPDU {
        guard counter.check(pin) else {
            verified.remove(reference)
            return triesLeft(counter)
        }
        verified.insert(reference)
        return ResponseAPDU(status: .success)
    }

    /// 63Cx: x tries left (ISO/IEC 7816-4:2005 table 6); 63C0 is the try that blocked it.
    private func triesLeft(_ counter: Counter) -> ResponseAPDU {
        VirtualCard.error(0x63C0 | UInt16(counter.left))
    }
}
