import APDU
@testable import CardSimulator
import Foundation
import Glibc
import Synchronization
import XCTest

/// The socket side of the virtual card, against a listening socket of the
/// test's own standing in for the vpcd driver (an ephemeral port: no clash
/// with the rig's readers or another test).
final class VPCDConnectionTests: XCTestCase {
    /// A listening socket on 127.0.0.1 and the port the kernel chose.
    func listen() throws -> (Int32, UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && Glibc.listen(listener, 1) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        XCTAssertTrue(bound, String(cString: strerror(errno)))
        return (listener, UInt16(bigEndian: address.sin_port))
    }

    func send(_ body: [UInt8], to descriptor: Int32) {
        let frame = [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        XCTAssertEqual(frame.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, frame.count, 0) }, frame.count)
    }

    /// The card is pulled (socket.close()) from another thread while the serving
    /// thread is busy with the card: the descriptor stays its own until it
    /// returns. Releasing it at once would let the next socket of the process
    /// take its number under the serving thread.
    func testClosingFromAnotherThreadLeavesTheDescriptorToTheServingThread() throws {
        let (listener, port) = try listen()
        defer { Glibc.close(listener) }
        let connection = VPCDConnection(card: try VirtualCard(profile: BuiltInProfiles.demo))
        let inSessionEnd = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let served = DispatchSemaphore(value: 0)
        connection.onSessionEnd = {
            inSessionEnd.signal()
            proceed.wait()
        }
        try connection.connect(port: port, retryFor: 5)
        let driver = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(driver, 0)
        defer { Glibc.close(driver) }
        let socket = connection.socket
        let serving = Handoff(connection)
        Thread.detachNewThread {
            try? serving.take()?.serve()
            served.signal()
        }
        send([0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00], to: driver)  // one command, power off and the next
        send([0x00], to: driver)                                      // presence check: the serving thread is
        send([0x04], to: driver)                                      // now in onSessionEnd
        XCTAssertEqual(inSessionEnd.wait(timeout: .now() + 5), .success)
        let descriptor = socket.descriptor
        XCTAssertGreaterThanOrEqual(descriptor, 0)

        socket.close()
        XCTAssertNotEqual(fcntl(descriptor, F_GETFD), -1, "close() released the descriptor under the serving thread")
        let probe = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(probe) }
        XCTAssertNotEqual(probe, descriptor, "a new socket took the serving thread's descriptor number")

        proceed.signal()
        XCTAssertEqual(served.wait(timeout: .now() + 5), .success, "serve() returns once the card is pulled")
        XCTAssertEqual(socket.descriptor, -1, "the serving thread released the descriptor")
    }

    /// A slot's card is pulled from another thread (a signal handler in
    /// dmboot-sim) while its serving thread blocks in recv(): the thread
    /// wakes, the driver sees the card go, and the descriptor is released once.
    func testPullingASlotFromAnotherThreadWakesItsThreadBlockedInRecv() throws {
        let (listener, port) = try listen()
        defer { Glibc.close(listener) }
        let slot = try VirtualReaderSlot(card: VirtualCard(profile: BuiltInProfiles.demo), port: port, connectTimeout: 5)
        let driver = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(driver, 0)
        defer { Glibc.close(driver) }
        send([0x04], to: driver)                    // get ATR: the card answers, then waits in recv()
        var header = [UInt8](repeating: 0, count: 2)
        XCTAssertEqual(recv(driver, &header, 2, Int32(MSG_WAITALL)), 2)
        var atr = [UInt8](repeating: 0, count: Int(header[0]) << 8 | Int(header[1]))
        XCTAssertEqual(recv(driver, &atr, atr.count, Int32(MSG_WAITALL)), atr.count)
        XCTAssertEqual(atr.hexString, BuiltInProfiles.demoATR)

        let pulled = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            slot.pull()
            pulled.signal()
        }
        XCTAssertEqual(pulled.wait(timeout: .now() + 5), .success)
        let out = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? slot.waitUntilOut()
            out.signal()
        }
        XCTAssertEqual(out.wait(timeout: .now() + 5), .success, "the serving thread woke from recv() and returned")
        XCTAssertNil(slot.error)
        var byte: UInt8 = 0
        XCTAssertEqual(recv(driver, &byte, 1, 0), 0, "the driver sees the card leave")
        XCTAssertEqual(slot.counters.commands, 0, "a control message is not a command")
    }

    /// vpcd resets a card as a control (02) and then asks for its ATR (04).
    /// The operator may pull the card only once that ATR has gone out: a card
    /// gone before makes vpcd drop the connection itself, and its next
    /// presence check would then take the next card on the port for this one,
    /// so pcscd never sees the swap (the station test that fed cards with a
    /// short gap lost cards that way).
    func testTheSessionEndsOnlyOnceTheATRAfterTheResetIsAnswered() throws {
        let (listener, port) = try listen()
        defer { Glibc.close(listener) }
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let atr = card.atr
        let connection = VPCDConnection(card: card)
        let ended = DispatchSemaphore(value: 0)
        let waitingAtEnd = Mutex<[UInt8]?>(nil)
        try connection.connect(port: port, retryFor: 5)
        let driver = accept(listener, nil, nil)
        XCTAssertGreaterThanOrEqual(driver, 0)
        defer { Glibc.close(driver) }
        connection.onSessionEnd = {
            // What the driver has been sent and not yet read, when the end is told.
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = recv(driver, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            waitingAtEnd.withLock { $0 = Array(buffer.prefix(max(count, 0))) }
            ended.signal()
        }
        let serving = Handoff(connection)
        Thread.detachNewThread { try? serving.take()?.serve() }
        send([0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00], to: driver)
        var reply = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(recv(driver, &reply, 2, Int32(MSG_WAITALL)), 2)
        XCTAssertEqual(recv(driver, &reply, Int(reply[0]) << 8 | Int(reply[1]), Int32(MSG_WAITALL)), 2, "a status word")
        send([0x02], to: driver)
        send([0x04], to: driver)
        XCTAssertEqual(ended.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(waitingAtEnd.withLock { $0 }, [UInt8(atr.count >> 8), UInt8(atr.count & 0xFF)] + atr,
                       "the ATR was answered before the card could be pulled")
        connection.socket.close()
    }
}
