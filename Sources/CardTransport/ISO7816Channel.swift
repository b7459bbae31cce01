import APDU

/// The transport rules of ISO/IEC 7816-3/-4 that belong below any
/// application: 61xx means "fetch the rest with GET RESPONSE", 6Cxx means
/// "ask again with Le = xx". Callers above see one complete response.
///
/// It also counts the APDUs that really cross the link, because the APDU
/// budget of a provisioning is part of the product's contract.
public final class ISO7816Channel: CardChannel {
    private let link: CardLink
    /// Whether commands whose lengths fit the short form are still sent extended.
    public var forceExtendedLength = false
    /// Called for every exchange on the wire, GET RESPONSEs included.
    public var onExchange: ((WireExchange) -> Void)?
    /// APDUs sent on the link since creation or the last reset.
    public private(set) var exchangeCount = 0
    /// GET RESPONSE rounds accepted before the card is considered broken.
    public var maxResponseChain = 256
    /// Whether 61xx and 6Cxx are followed up here. Off, callers see them
    /// as the card sent them (apdu-shell's `getresponse off`, for T=0 work).
    public var followsResponseChain = true

    public init(link: CardLink) {
        self.link = link
    }

    public func resetCount() { exchangeCount = 0 }

    /// The protocol of the link below, as negotiated when the card was connected.
    public var transmissionProtocol: TransmissionProtocol { link.transmissionProtocol }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        var response = try exchange(command)
        guard followsResponseChain else { return response }
        // A command under secure messaging is never sent twice: its MAC is
        // chained, so a replay would carry a MAC the card no longer expects.
        if response.status.sw1 == 0x6C && !LogicalChannel.hasSecureMessaging(cla: command.cla) {
            var retry = command
            retry.expectedLength = response.status.sw2 == 0 ? 256 : Int(response.status.sw2)
            response = try exchange(retry)
        }
        var collected = response.data
        var rounds = 0
        while response.status.sw1 == 0x61 {
            rounds += 1
            guard rounds <= maxResponseChain else {
                throw TransportError.responseChainTooLong(rounds)
            }
            let available = response.status.sw2 == 0 ? 256 : Int(response.status.sw2)
            let cla = LogicalChannel.decode(cla: command.cla).encode(cla: 0x00)
            response = try exchange(ISOCommand.getResponse(available, cla: cla))
            collected += response.data
        }
        return ResponseAPDU(data: collected, status: response.status)
    }

    private func exchange(_ command: CommandAPDU) throws -> ResponseAPDU {
        let bytes = try wireBytes(command)
        let answer = try link.transmit(raw: bytes)
        exchangeCount += 1
        onExchange?(WireExchange(command: bytes, response: answer))
        do {
            return try ResponseAPDU(bytes: answer)
        } catch {
            throw TransportError.malformedResponse(answer)
        }
    }

    /// The command as the negotiated protocol carries it. On T=0 a case 4
    /// command loses its Le (the card answers 61xx and GET RESPONSE fetches
    /// the data), a case 1 command gains P3 = 00 (the T=0 header is always
    /// five bytes, ISO/IEC 7816-3 10.3.2), and extended length is never
    /// used, whatever the ATR says.
    func wireBytes(_ command: CommandAPDU) throws -> [UInt8] {
        guard transmissionProtocol == .t0 else { return try command.encoded(forceExtended: forceExtendedLength) }
        guard !command.needsExtendedLength else { throw TransportError.extendedLengthOnT0(command.description) }
        var wire = command
        if wire.isoCase == 4 { wire.expectedLength = nil }
        let bytes = try wire.encoded()
        return wire.isoCase == 1 ? bytes + [0x00] : bytes
    }
}

/// Failures of the transport rules, as opposed to those of PC/SC itself.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    case malformedResponse([UInt8])
    case responseChainTooLong(Int)
    case extendedLengthOnT0(String)

    public var description: String {
        switch self {
        case .malformedResponse(let bytes):
            return "the card answered \(bytes.count) bytes, too few for a status word"
        case .responseChainTooLong(let rounds):
            return "the card kept answering 61xx after \(rounds) GET RESPONSE commands; it is not behaving as ISO 7816-4 says"
        case .extendedLengthOnT0(let command):
            return "\(command) needs extended length, which T=0 cannot carry; use a shorter read or a T=1 reader"
        }
    }
}
