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
}

/// One exchange on the wire, for traces and APDU counts.
public struct WireExchange: Sendable {
    public let command: [UInt8]
    public let response: [UInt8]
}
