import Foundation
import Synchronization

/// A virtual card inserted into one vpcd slot, served on its own thread so
/// that the same process can talk to it through pcscd (tests, dmboot-sim).
/// The card goes to the serving thread: the caller gives it up (`sending`)
/// and watches it through its `counters`. `remove()` pulls the card.
public final class VirtualReaderSlot: Sendable {
    public let port: UInt16
    /// The counters of the card in the slot.
    public let counters: CardCounters
    private let socket: VPCDSocket
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<Error?>(nil)

    /// Connects `card` to the driver on `port` (retrying for `connectTimeout`
    /// seconds while it does not listen) and starts answering, each answer
    /// `responseDelay` seconds late.
    public init(card: sending VirtualCard, port: UInt16 = VPCDConnection.defaultPort, host: String = "127.0.0.1",
                connectTimeout: Double = 10, responseDelay: Double = 0) throws {
        self.port = port
        counters = card.counters
        let connection = VPCDConnection(card: card)
        connection.responseDelay = responseDelay
        socket = connection.socket
        try connection.connect(host: host, port: port, retryFor: connectTimeout)
        let served = Handoff(connection)
        let thread = Thread { [self] in
            do {
                try served.take()?.serve()
            } catch {
                failure.withLock { $0 = error }
            }
            finished.signal()
        }
        thread.name = "vpcd-\(port)"
        thread.start()
    }

    /// Pulls the card; returns at once (`waitUntilOut()` waits for the thread).
    public func pull() {
        socket.close()
    }

    /// Waits until the card is out: pulled, or its connection ended by the
    /// driver (pcscd stopped). Throws the error that ended serving, if any.
    public func waitUntilOut() throws {
        finished.wait()
        finished.signal()
        if let error { throw error }
    }

    /// Pulls the card and waits until its thread has stopped.
    public func remove() {
        pull()
        finished.wait()
        finished.signal()
    }

    /// The error that ended serving, if any.
    public var error: Error? { failure.withLock { $0 } }
}
