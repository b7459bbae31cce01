import APDU

/// Anything that carries command APDUs to a card and brings back its answer.
/// The PC/SC connection, the GET RESPONSE handling on top of it and the
/// secure channel on top of that are all `CardChannel`s; each layer decorates
/// the one below without knowing what it is.
public protocol CardChannel: AnyObject {
    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU
}

/// The raw link to a card: bytes out, bytes back, nothing interpreted.
public protocol CardLink: AnyObject {
    func transmit(raw command: [UInt8]) throws -> [UInt8]
    /// The protocol negotiated with the card: it decides how a command is put on the wire.
    var transmissionProtocol: TransmissionProtocol { get }
}

extension CardLink {
    /// Links that are not a reader (test doubles, in-process cards) carry whole APDUs, as T=1 does.
    public var transmissionProtocol: TransmissionProtocol { .t1 }
}

/// ISO/IEC 7816-3 transmission protocols, as far as they change an APDU.
public enum TransmissionProtocol: String, Sendable {
    /// Character protocol: one length byte P3, so a case 4 command travels
    /// without Le and its answer is fetched with GET RESPONSE (ISO/IEC 7816-3
    /// 12.2; OpenSC apdu.c does the same); no extended length.
    case t0 = "T=0"
    /// Block protocol: the APDU travels as it is.
    case t1 = "T=1"
}

/// One exchange on the wire, for traces and APDU counts.
public struct WireExchange: Sendable {
    public let command: [UInt8]
    public let response: [UInt8]
}
