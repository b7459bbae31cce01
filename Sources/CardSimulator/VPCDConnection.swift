import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Puts a `VirtualCard` behind pcscd: the vsmartcard `vpcd` driver listens on
/// a TCP port per reader slot and the card connects to it as a client. Each
/// message is a 2-byte big-endian length and a body; a 1-byte body from the
/// driver is a control (00 power off, 01 power on, 02 reset, 04 get ATR),
/// anything longer is a command APDU.
///
/// Closing the connection is what pcscd sees as the card leaving the reader.
///
/// The connection and its card belong to the thread that serves them; the
/// one thing another thread may do is pull the card, through `socket`.
public final class VPCDConnection {
    public static let defaultPort: UInt16 = 35963

    private let card: VirtualCard
    /// The socket: `socket.close()` pulls the card from any thread.
    public let socket = VPCDSocket()
    private var commandsSincePowerOn = 0
    /// A reset or power-off came after commands; the end is told once the
    /// driver's next ATR request is answered (see `serve`).
    private var sessionEnding = false
    /// Seconds to wait before each answer, to model a slow card (or to keep
    /// cards in progress long enough to interrupt a station in a test).
    public var responseDelay: Double = 0
    /// Called when the driver resets or powers off the card after it has
    /// answered commands: the host is done with it, so an operator may pull it.
    /// It comes once the driver has read the ATR it asks for next (at once
    /// after a reset, at its next presence check after a power-off). A card
    /// pulled before that answer makes vpcd drop the connection itself, and
    /// its next presence check then takes a card already waiting on the port
    /// for the same one still there: pcscd would never see the swap.
    public var onSessionEnd: (() -> Void)?

    public init(card: VirtualCard) {
        self.card = card
    }

    /// Connects to the driver, retrying while it is not listening yet (pcscd
    /// starting up, or the slot still busy with the previous card).
    public func connect(host: String = "127.0.0.1", port: UInt16 = defaultPort, retryFor seconds: Double = 10) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw SimulatorError.socket("socket", errno) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                Glibc.close(fd)
                throw SimulatorError.invalidHost(host)
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if result == 0 {
                // The 40 ms trap: the driver writes length and body separately;
                // without these, Nagle and delayed ACK stall every APDU.
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                socket.adopt(fd)
                return
            }
            let failure = errno
            Glibc.close(fd)
            if Date() >= deadline {
                throw SimulatorError.driverNotListening(host: host, port: port, errno: failure)
            }
            usleep(50_000)
        }
    }

    /// Answers the driver until it or `close()` ends the connection, then
    /// releases the descriptor.
    public func serve() throws {
        defer { socket.release() }
        while let message = try receive() {
            let reply: [UInt8]?
            if message.count == 1 {
                switch message[0] {
                case 0x00:
                    endSession()
                    reply = nil
                case 0x01, 0x02:
                    endSession()
                    card.powerOn()
                    reply = nil
                case 0x04: reply = card.atr
                default: reply = nil
                }
            } else {
                if let shouldContinue = card.shouldContinue, !shouldContinue(card.commandCount + 1) {
                    socket.close()
                    return
                }
                if responseDelay > 0 { usleep(useconds_t(responseDelay * 1_000_000)) }
                commandsSincePowerOn += 1
                reply = card.process(message)
            }
            if let reply { try send(reply) }
            if sessionEnding && message == [0x04] {
                sessionEnding = false
                onSessionEnd?()
            }
        }
    }

    private func endSession() {
        if commandsSincePowerOn > 0 { sessionEnding = true }
        commandsSincePowerOn = 0
    }

    /// Pulls the card: pcscd sees it removed.
    public func close() {
        socket.close()
    }

    private func receive() throws -> [UInt8]? {
        guard let header = try readExactly(2) else { return nil }
        let length = Int(header[0]) << 8 | Int(header[1])
        if length == 0 { return [] }
        return try readExactly(length)
    }

    private func readExactly(_ count: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let fd = socket.fd
            guard fd >= 0 else { return nil }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), Int32(TCP_QUICKACK), &one, socklen_t(MemoryLayout<Int32>.size))
            let received = buffer.withUnsafeMutableBytes { pointer in
                recv(fd, pointer.baseAddress! + filled, count - filled, 0)
            }
            if received == 0 { return nil }
            if received < 0 {
                if errno == EINTR { continue }
                if socket.fd < 0 { return nil }
                throw SimulatorError.socket("recv", errno)
            }
            filled += received
        }
        return buffer
    }

    private func send(_ body: [UInt8]) throws {
        let frame = [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        var sent = 0
        while sent < frame.count {
            let fd = socket.fd
            guard fd >= 0 else { return }
            let written = frame.withUnsafeBytes { pointer in
                Glibc.send(fd, pointer.baseAddress! + sent, frame.count - sent, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw SimulatorError.socket("send", errno)
            }
            sent += written
        }
    }
}

/// A card's socket to the vpcd driver, shared between the thread that
/// serves the card and whoever may pull it.
///
/// `close()` from another thread only shuts the socket down, which wakes the
/// serving thread, and the descriptor is released by whoever serves (or by
/// deinit). Closing the descriptor under a thread blocked in recv() would
/// free its number for the next open() in the process, and that thread would
/// then read another connection's bytes.
public final class VPCDSocket: Sendable {
    private struct State {
        var descriptor: Int32 = -1
        /// Set by `close()`: the card is pulled, and no further I/O starts.
        var pulled = false
    }

    private let state = Mutex(State())

    /// Pulls the card: pcscd sees it removed. Safe from any thread; the
    /// serving thread wakes and returns.
    public func close() {
        state.withLock { state in
            state.pulled = true
            if state.descriptor >= 0 { shutdown(state.descriptor, Int32(SHUT_RDWR)) }
        }
    }

    /// Takes the connected descriptor. A card pulled before it connected
    /// serves nothing: `fd` is -1 once pulled.
    func adopt(_ descriptor: Int32) {
        state.withLock { $0.descriptor = descriptor }
    }

    /// Closes the descriptor once nobody serves it any more.
    func release() {
        state.withLock { state in
            if state.descriptor >= 0 { Glibc.close(state.descriptor) }
            state.descriptor = -1
        }
    }

    deinit {
        release()
    }

    /// The descriptor until the serving thread released it.
    var descriptor: Int32 { state.withLock { $0.descriptor } }

    /// The descriptor while the card is in the reader; -1 once pulled.
    var fd: Int32 { state.withLock { $0.pulled ? -1 : $0.descriptor } }
}

public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    case socket(String, Int32)
    case invalidHost(String)
    case driverNotListening(host: String, port: UInt16, errno: Int32)

    public var description: String {
        switch self {
        case .socket(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code)))"
        case .invalidHost(let host):
            return "\(host) is not an IPv4 address"
        case .driverNotListening(let host, let port, let code):
            return "no vpcd reader listens on \(host):\(port) (\(String(cString: strerror(code)))); is pcscd running with the vsmartcard-vpcd driver? scripts/rig-start.sh starts both"
        }
    }
}
