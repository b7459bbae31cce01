import APDU
import CPCSCLite
import Foundation

/// A connection to the card in one reader. Transmits raw bytes; the ISO 7816
/// transport rules live in `ISO7816Channel` above it.
public final class PCSCCard: CardLink {
    private var handle: SCARDHANDLE
    /// Kept so the connection can ask pcscd whether the card is still there.
    private let context: PCSCContext
    public let reader: String
    public private(set) var activeProtocol: DWORD
    private var connected = true
    /// Whether this connection holds a PC/SC transaction (`holdCard`).
    public private(set) var holdsCard = false

    init(handle: SCARDHANDLE, context: PCSCContext, reader: String, activeProtocol: DWORD) {
        self.handle = handle
        self.context = context
        self.reader = reader
        self.activeProtocol = activeProtocol
    }

    deinit {
        if connected { SCardDisconnect(handle, CPCSC_LEAVE_CARD) }
    }

    public var transmissionProtocol: TransmissionProtocol {
        activeProtocol == CPCSC_PROTOCOL_T0 ? .t0 : .t1
    }

    /// "T=0" or "T=1".
    public var protocolName: String {
        activeProtocol == CPCSC_PROTOCOL_T0 ? "T=0" : activeProtocol == CPCSC_PROTOCOL_T1 ? "T=1" : "raw"
    }

    /// Largest response a transmit can carry: extended APDUs need 65 536 + SW.
    private static let receiveBufferSize = 65_538

    public func transmit(raw command: [UInt8]) throws -> [UInt8] {
        var received = [UInt8](repeating: 0, count: Self.receiveBufferSize)
        var length = DWORD(received.count)
        let pci = activeProtocol == CPCSC_PROTOCOL_T0 ? cpcsc_pci_t0() : cpcsc_pci_t1()
        let rv = command.withUnsafeBufferPointer { sendBuffer in
            SCardTransmit(handle, pci, sendBuffer.baseAddress, DWORD(command.count), nil, &received, &length)
        }
        guard rv == CPCSC_S_SUCCESS else {
            throw mapTransmitFailure(rv)
        }
        guard length >= 2 else { throw silentCardFailure() }
        return Array(received.prefix(Int(length)))
    }

    /// How long to wait for pcscd to notice a removal after the card went
    /// silent; its reader polling runs every 400 ms.
    private static let removalGrace = 1.5

    /// Some drivers (vpcd among them) hand back an empty answer when the card
    /// vanished mid-exchange. Tell a pulled card from a mute one.
    private func silentCardFailure() -> PCSCError {
        do {
            try context.waitForRemoval(from: reader, timeout: Self.removalGrace)
            return .cardRemoved(reader: reader)
        } catch {
            return .unresponsiveCard(reader: reader)
        }
    }

    /// A transmit that fails because the card left is reported as a removal,
    /// whatever code the driver chose for it.
    private func mapTransmitFailure(_ rv: LONG) -> PCSCError {
        let error = PCSCError.from(code: rv, operation: "SCardTransmit", reader: reader)
        switch rv {
        case CPCSC_E_NOT_TRANSACTED, CPCSC_E_COMM_DATA_LOST, CPCSC_E_NO_SMARTCARD, CPCSC_E_READER_UNAVAILABLE:
            if !isCardPresent() { return .cardRemoved(reader: reader) }
            return error
        default:
            return error
        }
    }

    private func isCardPresent() -> Bool {
        var state: DWORD = 0
        var proto: DWORD = 0
        var atrLength: DWORD = 33
        var atr = [UInt8](repeating: 0, count: 33)
        var nameLength: DWORD = 0
        let rv = SCardStatus(handle, nil, &nameLength, &state, &proto, &atr, &atrLength)
        return rv == CPCSC_S_SUCCESS
    }

    /// The card's ATR as PC/SC reports it for this connection.
    public func atr() throws -> [UInt8] {
        var state: DWORD = 0
        var proto: DWORD = 0
        var atrLength = DWORD(MAX_ATR_SIZE)
        var atr = [UInt8](repeating: 0, count: Int(MAX_ATR_SIZE))
        var nameLength: DWORD = 0
        let rv = SCardStatus(handle, nil, &nameLength, &state, &proto, &atr, &atrLength)
        guard rv == CPCSC_S_SUCCESS else { throw PCSCError.from(code: rv, operation: "SCardStatus", reader: reader) }
        return Array(atr.prefix(Int(atrLength)))
    }

    /// Warm reset of the card, keeping the connection.
    public func reset() throws {
        var active: DWORD = 0
        let rv = SCardReconnect(handle, CPCSC_SHARE_SHARED, CPCSC_PROTOCOL_T0 | CPCSC_PROTOCOL_T1, CPCSC_RESET_CARD, &active)
        guard rv == CPCSC_S_SUCCESS else { throw PCSCError.from(code: rv, operation: "SCardReconnect", reader: reader) }
        activeProtocol = active
    }

    /// Holds the card for this connection until `releaseCard` or the
    /// disconnect: SCardBeginTransaction, as GlobalPlatformPro (GPTool's
    /// `beginExclusive`, on by default) and OpenSC (`sc_lock`) do around a
    /// session. Meanwhile pcscd refuses or holds back every other client's
    /// APDUs and resets, so none can fall between two commands of a secure
    /// channel. When another application holds a transaction, pcsc-lite waits
    /// for it to end; `onWait` is told once if that takes longer than a second.
    public func holdCard(onWait: @escaping @Sendable () -> Void = {}) throws {
        guard !holdsCard else { return }
        let acquired = DispatchSemaphore(value: 0)
        let announcer = Thread {
            if acquired.wait(timeout: .now() + 1) == .timedOut { onWait() }
        }
        announcer.start()
        let rv = SCardBeginTransaction(handle)
        acquired.signal()
        guard rv == CPCSC_S_SUCCESS else { throw PCSCError.from(code: rv, operation: "SCardBeginTransaction", reader: reader) }
        holdsCard = true
    }

    /// Lets other applications at the card again.
    public func releaseCard() {
        guard holdsCard else { return }
        SCardEndTransaction(handle, CPCSC_LEAVE_CARD)
        holdsCard = false
    }

    /// Ends the connection, leaving the card powered for the next application.
    public func disconnect(resetCard: Bool = false) {
        guard connected else { return }
        releaseCard()
        SCardDisconnect(handle, resetCard ? CPCSC_RESET_CARD : CPCSC_LEAVE_CARD)
        connected = false
    }
}
