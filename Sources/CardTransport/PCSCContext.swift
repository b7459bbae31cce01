import APDU
import CPCSCLite
import Foundation

/// A reader as PC/SC reports it, with what is in it.
public struct ReaderState: Equatable, Sendable {
    public let name: String
    public let index: Int
    public let cardPresent: Bool
    /// Another application holds the card exclusively.
    public let exclusive: Bool
    public let inUse: Bool
    public let mute: Bool
    public let atr: [UInt8]
}

/// Which card a connection asks for.
public enum ShareMode: String, Sendable, CaseIterable {
    case shared, exclusive

    var pcscValue: DWORD { self == .shared ? CPCSC_SHARE_SHARED : CPCSC_SHARE_EXCLUSIVE }
}

/// A PC/SC resource-manager context: the entry to pcscd. Not shared between
/// threads; each worker establishes its own.
public final class PCSCContext {
    private var handle: SCARDCONTEXT = 0

    public init() throws {
        let rv = SCardEstablishContext(CPCSC_SCOPE_SYSTEM, nil, nil, &handle)
        guard rv == CPCSC_S_SUCCESS else {
            throw PCSCError.from(code: rv, operation: "SCardEstablishContext")
        }
    }

    deinit {
        SCardReleaseContext(handle)
    }

    /// Reader names in the order pcscd lists them; the index is that order.
    public func readerNames() throws -> [String] {
        var length: DWORD = 0
        var rv = SCardListReaders(handle, nil, nil, &length)
        if rv == CPCSC_E_NO_READERS_AVAILABLE { return [] }
        guard rv == CPCSC_S_SUCCESS else { throw PCSCError.from(code: rv, operation: "SCardListReaders") }
        var buffer = [CChar](repeating: 0, count: Int(length))
        rv = SCardListReaders(handle, nil, &buffer, &length)
        if rv == CPCSC_E_NO_READERS_AVAILABLE { return [] }
        guard rv == CPCSC_S_SUCCESS else { throw PCSCError.from(code: rv, operation: "SCardListReaders") }
        return Self.splitMultiString(buffer)
    }

    static func splitMultiString(_ buffer: [CChar]) -> [String] {
        var names: [String] = []
        var current: [UInt8] = []
        for char in buffer {
            if char == 0 {
                if current.isEmpty { break }
                names.append(String(decoding: current, as: UTF8.self))
                current.removeAll()
            } else {
                current.append(UInt8(bitPattern: char))
            }
        }
        return names
    }

    /// Every reader with its current state, read in one SCardGetStatusChange call.
    public func readers() throws -> [ReaderState] {
        let names = try readerNames()
        guard !names.isEmpty else { return [] }
        let states = try statusChange(names: names, known: Array(repeating: CPCSC_STATE_UNAWARE, count: names.count),
                                      timeoutMilliseconds: 0)
        return states.enumerated().map { index, state in
            ReaderState(name: names[index], index: index,
                        cardPresent: state.event & CPCSC_STATE_PRESENT != 0,
                        exclusive: state.event & CPCSC_STATE_EXCLUSIVE != 0,
                        inUse: state.event & CPCSC_STATE_INUSE != 0,
                        mute: state.event & CPCSC_STATE_MUTE != 0,
                        atr: state.atr)
        }
    }

    /// Picks one reader by exact name, index or unique substring; with no
    /// name, the only reader or the only one holding a card.
    public func resolveReader(_ query: String?) throws -> String {
        guard query?.isEmpty ?? true else { return try ReaderSelector.select(query, from: readerNames()) }
        let states = try readers()
        return try ReaderSelector.select(nil, from: states.map(\.name), holdingCards: states.filter(\.cardPresent).map(\.name))
    }

    /// Blocks until a card is present in `reader`, for at most `timeout` seconds.
    /// Returns at once when one is already there.
    public func waitForCard(in reader: String, timeout: Double) throws {
        try waitForState(of: reader, timeout: timeout, event: "a card in \"\(reader)\"") { event in
            event & CPCSC_STATE_PRESENT != 0 && event & CPCSC_STATE_MUTE == 0
        }
    }

    /// Blocks until the card leaves `reader`, for at most `timeout` seconds.
    public func waitForRemoval(from reader: String, timeout: Double) throws {
        try waitForState(of: reader, timeout: timeout, event: "the card to leave \"\(reader)\"") { event in
            event & CPCSC_STATE_PRESENT == 0
        }
    }

    /// Sleeps in SCardGetStatusChange (pcscd wakes it on every change of the
    /// reader) until `isReached` holds; there is no polling loop.
    private func waitForState(of reader: String, timeout: Double, event: String,
                              until isReached: (DWORD) -> Bool) throws {
        var known = CPCSC_STATE_UNAWARE
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while true {
            let remaining = max(0, (deadline - ContinuousClock.now) / .milliseconds(1))
            let state: StatusChange
            do {
                state = try statusChange(names: [reader], known: [known], timeoutMilliseconds: DWORD(remaining))[0]
            } catch PCSCError.timeout {
                throw PCSCError.timeout(waitingFor: event, seconds: timeout)
            }
            if state.event & CPCSC_STATE_UNKNOWN != 0 {
                throw PCSCError.unknownReader(reader, available: (try? readerNames()) ?? [])
            }
            if isReached(state.event) { return }
            if remaining == 0 { throw PCSCError.timeout(waitingFor: event, seconds: timeout) }
            known = state.event & ~CPCSC_STATE_CHANGED
        }
    }

    public struct StatusChange {
        public let event: DWORD
        public let atr: [UInt8]
    }

    /// One SCardGetStatusChange call over `names`; pcscd wakes it on any change.
    public func statusChange(names: [String], known: [DWORD], timeoutMilliseconds: DWORD) throws -> [StatusChange] {
        let cNames = names.map { strdup($0)! }
        defer { cNames.forEach { free($0) } }
        var states = [SCARD_READERSTATE](repeating: SCARD_READERSTATE(), count: names.count)
        for index in states.indices {
            states[index].szReader = UnsafePointer(cNames[index])
            states[index].dwCurrentState = known[index]
        }
        let rv = SCardGetStatusChange(handle, timeoutMilliseconds, &states, DWORD(states.count))
        guard rv == CPCSC_S_SUCCESS else {
            throw PCSCError.from(code: rv, operation: "SCardGetStatusChange", reader: names.first,
                                 timeout: Double(timeoutMilliseconds) / 1000)
        }
        return states.map { state in
            var atr = state.rgbAtr
            let length = Int(min(state.cbAtr, DWORD(MemoryLayout.size(ofValue: atr))))
            let bytes = withUnsafeBytes(of: &atr) { Array($0.prefix(length)) }
            return StatusChange(event: state.dwEventState, atr: bytes)
        }
    }

    /// Interrupts a blocking `statusChange` from another thread.
    public func cancel() {
        interrupter.interrupt()
    }

    /// What another thread needs to interrupt this context's blocking calls:
    /// pcsc-lite allows SCardCancel from any thread, while the context itself
    /// stays on its own.
    public var interrupter: Interrupter { Interrupter(handle: handle) }

    public struct Interrupter: Sendable {
        let handle: SCARDCONTEXT

        /// Wakes a SCardGetStatusChange in progress. pcsc-lite drops the
        /// request when no call is blocked at that moment.
        public func interrupt() {
            SCardCancel(handle)
        }
    }

    /// Connects to the card in `reader`, T=0 or T=1 as the card and reader
    /// negotiate. With `reset`, the card is reset first (SCardReconnect with
    /// SCARD_RESET_CARD): pcscd leaves a card as the last client left it, a
    /// client that died inside a secure channel too, and a card read in
    /// that state answers differently (issue 25 item 1).
    public func connect(reader: String, share: ShareMode = .shared, reset: Bool = false) throws -> PCSCCard {
        var card: SCARDHANDLE = 0
        var active: DWORD = 0
        let rv = SCardConnect(handle, reader, share.pcscValue, CPCSC_PROTOCOL_T0 | CPCSC_PROTOCOL_T1, &card, &active)
        guard rv == CPCSC_S_SUCCESS else {
            throw PCSCError.from(code: rv, operation: "SCardConnect", reader: reader)
        }
        let connected = PCSCCard(handle: card, context: self, reader: reader, activeProtocol: active)
        if reset { try connected.reset() }
        return connected
    }
}
