import Foundation
import Synchronization

/// A virtual card inserted into one vpcd slot, served on its own thread so
/// that the same process can talk to it through pcscd (tests, the station
/// benchmark). `remove()` pulls the card. The card belongs to the serving
/// thread while inserted; read its counters after `remove()`, which joins it.
public final class VirtualReaderSlot: @unchecked Sendable {
    public let card: VirtualCard
    public let port: UInt16
    private let connection: VPCDConnection
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<Error?>(nil)

    /// Connects `card` to the driver on `port` and starts answering.
    public init(card: VirtualCard, port: UInt16 = VPCDConnection.defaultPort, host: String = "127.0.0.1") throws {
        self.card = card
        self.port = port
        connection = VPCDConnection(card: card)
        try connection.connect(host: host, port: port)
        let thread = Thread { [connection, finished, weak self] in
            do {
                try connection.serve()
            } catch {
                self?.failure.withLock { $0 = error }
            }
            finished.signal()
        }
        thread.name = "vpcd-\(port)"
        thread.start()
    }

    /// Pulls the card and waits until its thread has stopped.
    public func remove() {
        connection.close()
        finished.wait()
        finished.signal()
    }

    /// The error that ended serving, if any.
    public var error: Error? { failure.withLock { $0 } }
}
