import Synchronization

/// A card's counters, the one part of a `VirtualCard` another thread may
/// read while the card is served: a test or an operator watches them without
/// touching the card, which belongs to its serving thread.
public final class CardCounters: Sendable {
    private let commandCount = Atomic<Int>(0)
    private let externalAuthenticateCount = Atomic<Int>(0)

    public init() {}

    /// Command APDUs the card has processed.
    public var commands: Int { commandCount.load(ordering: .acquiring) }
    /// EXTERNAL AUTHENTICATE commands the card has received.
    public var externalAuthenticates: Int { externalAuthenticateCount.load(ordering: .acquiring) }

    func countCommand() { commandCount.add(1, ordering: .releasing) }
    func countExternalAuthenticate() { externalAuthenticateCount.add(1, ordering: .releasing) }
}
