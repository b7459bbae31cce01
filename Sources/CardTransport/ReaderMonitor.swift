import CPCSCLite
import Foundation

/// What one reader holds, as the monitor last saw it.
public struct ReaderSnapshot: Equatable, Sendable {
    public let name: String
    public let cardPresent: Bool
    /// The card does not answer (a card inserted the wrong way, or dead).
    public let mute: Bool
    /// pcscd's count of insertions and removals in this reader. A card pulled
    /// and another inserted between two looks leaves `cardPresent` true; only
    /// this count tells that the card is not the same one.
    public let cardEvents: Int

    public init(name: String, cardPresent: Bool, mute: Bool = false, cardEvents: Int = 0) {
        self.name = name
        self.cardPresent = cardPresent
        self.mute = mute
        self.cardEvents = cardEvents
    }
}

/// Watches readers come and go and cards be inserted and removed, sleeping in
/// SCardGetStatusChange (with pcsc-lite's PnP pseudo-reader for reader
/// arrivals) until something changes. `cancel()` from another thread wakes it.
public final class ReaderMonitor: @unchecked Sendable {
    static let plugAndPlay = "\\\\?PnP?\\Notification"
    private let context: PCSCContext
    private var known: [String: DWORD] = [:]
    private var plugAndPlayState: DWORD = CPCSC_STATE_UNAWARE

    public init() throws {
        context = try PCSCContext()
    }

    /// The readers and their cards now.
    public func snapshot() throws -> [ReaderSnapshot] {
        let names = try context.readerNames()
        guard !names.isEmpty else { return [] }
        let states = try context.statusChange(names: names, known: names.map { _ in CPCSC_STATE_UNAWARE }, timeoutMilliseconds: 0)
        for (name, state) in zip(names, states) { known[name] = state.event & ~CPCSC_STATE_CHANGED }
        return zip(names, states).map { Self.snapshot(name: $0, event: $1.event) }
    }

    /// Blocks until a reader or a card changes, then returns the new picture;
    /// nil when `cancel()` woke it.
    public func waitForChange() throws -> [ReaderSnapshot]? {
        let names = try context.readerNames()
        known = known.filter { names.contains($0.key) }
        let watched = names + [Self.plugAndPlay]
        let current = names.map { known[$0] ?? CPCSC_STATE_UNAWARE } + [plugAndPlayState]
        let states: [PCSCContext.StatusChange]
        do {
            states = try context.statusChange(names: watched, known: current, timeoutMilliseconds: CPCSC_INFINITE)
        } catch PCSCError.failure(_, let code) where code == Int(CPCSC_E_CANCELLED) {
            return nil
        } catch PCSCError.unknownReader {
            // A reader left between listing and waiting: the next round lists again.
            return try snapshot()
        }
        for (name, state) in zip(names, states) { known[name] = state.event & ~CPCSC_STATE_CHANGED }
        plugAndPlayState = states.last!.event & ~CPCSC_STATE_CHANGED
        return try context.readerNames() == names
            ? zip(names, states).map { Self.snapshot(name: $0, event: $1.event) }
            : try snapshot()
    }

    /// Wakes a `waitForChange` blocked in another thread.
    public func cancel() {
        context.cancel()
    }

    static func snapshot(name: String, event: DWORD) -> ReaderSnapshot {
        ReaderSnapshot(name: name, cardPresent: event & CPCSC_STATE_PRESENT != 0 && event & CPCSC_STATE_UNKNOWN == 0,
                       mute: event & CPCSC_STATE_MUTE != 0, cardEvents: Int((event >> 16) & 0xFFFF))
    }
}
