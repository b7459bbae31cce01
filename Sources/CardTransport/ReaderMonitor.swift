import CPCSCLite
import Foundation
import Synchronization

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
public final class ReaderMonitor: Sendable {
    static let plugAndPlay = "\\\\?PnP?\\Notification"

    /// The context and what this monitor last saw: one caller at a time.
    private struct Watch {
        let context: PCSCContext
        var known: [String: DWORD] = [:]
        var plugAndPlayState: DWORD = CPCSC_STATE_UNAWARE
    }

    /// Whether a stop was asked, and whether a wait is (about to be) blocked in pcscd.
    private struct Cancellation {
        var cancelled = false
        var waiting = false
    }

    private let watch: Mutex<Watch>
    private let cancellation = Mutex(Cancellation())
    private let interrupter: PCSCContext.Interrupter

    public init() throws {
        let context = try PCSCContext()
        interrupter = context.interrupter
        watch = Mutex(Watch(context: context))
    }

    /// The readers and their cards now.
    public func snapshot() throws -> [ReaderSnapshot] {
        try watch.withLock { try Self.snapshot(&$0) }
    }

    private static func snapshot(_ watch: inout Watch) throws -> [ReaderSnapshot] {
        let names = try watch.context.readerNames()
        guard !names.isEmpty else { return [] }
        let states = try watch.context.statusChange(names: names, known: names.map { _ in CPCSC_STATE_UNAWARE },
                                                    timeoutMilliseconds: 0)
        for (name, state) in zip(names, states) { watch.known[name] = state.event & ~CPCSC_STATE_CHANGED }
        return zip(names, states).map { snapshot(name: $0, event: $1.event) }
    }

    /// Blocks until a reader or a card changes, then returns the new picture;
    /// nil once `cancel()` was called, whether before or during the wait.
    public func waitForChange() throws -> [ReaderSnapshot]? {
        try watch.withLock { watch in
            let names = try watch.context.readerNames()
            watch.known = watch.known.filter { names.contains($0.key) }
            let watched = names + [Self.plugAndPlay]
            let current = names.map { watch.known[$0] ?? CPCSC_STATE_UNAWARE } + [watch.plugAndPlayState]
            let mayWait = cancellation.withLock { state in
                state.waiting = !state.cancelled
                return state.waiting
            }
            guard mayWait else { return nil }
            let states: [PCSCContext.StatusChange]
            do {
                defer { cancellation.withLock { $0.waiting = false } }
                states = try watch.context.statusChange(names: watched, known: current, timeoutMilliseconds: CPCSC_INFINITE)
            } catch PCSCError.failure(_, let code) where code == Int(CPCSC_E_CANCELLED) {
                return nil
            } catch PCSCError.unknownReader {
                // A reader left between listing and waiting: the next round lists again.
                return try Self.snapshot(&watch)
            }
            for (name, state) in zip(names, states) { watch.known[name] = state.event & ~CPCSC_STATE_CHANGED }
            watch.plugAndPlayState = states.last!.event & ~CPCSC_STATE_CHANGED
            return try watch.context.readerNames() == names
                ? zip(names, states).map { Self.snapshot(name: $0, event: $1.event) }
                : try Self.snapshot(&watch)
        }
    }

    /// Ends the current `waitForChange` and every later one. The stop sticks:
    /// SCardCancel is lost when it lands while no call is blocked in pcscd
    /// (between two waits, or just before one enters the daemon), so this
    /// records the stop first and repeats the interruption until no wait is
    /// left in progress. Returns once no wait can block any more.
    public func cancel() {
        cancellation.withLock { $0.cancelled = true }
        while cancellation.withLock({ $0.waiting }) {
            interrupter.interrupt()
            usleep(2_000)
        }
    }

    static func snapshot(name: String, event: DWORD) -> ReaderSnapshot {
        ReaderSnapshot(name: name, cardPresent: event & CPCSC_STATE_PRESENT != 0 && event & CPCSC_STATE_UNKNOWN == 0,
                       mute: event & CPCSC_STATE_MUTE != 0, cardEvents: Int((event >> 16) & 0xFFFF))
    }
}
