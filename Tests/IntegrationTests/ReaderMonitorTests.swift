import CardTransport
import Foundation
import Synchronization
import XCTest

/// `ReaderMonitor.cancel()` against the real pcscd, whose SCardCancel only
/// reaches a SCardGetStatusChange that is blocked at that moment.
final class ReaderMonitorTests: XCTestCase {
    /// Starts `waitForChange` on its own thread; the function returned gives
    /// its outcome, or nil when it is still blocked after `seconds`.
    func startWaiting(_ monitor: ReaderMonitor) -> (_ seconds: Double) -> Result<[ReaderSnapshot]?, Error>? {
        let outcome = Mutex<Result<[ReaderSnapshot]?, Error>?>(nil)
        let returned = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let result = Result { try monitor.waitForChange() }
            outcome.withLock { $0 = result }
            returned.signal()
        }
        return { seconds in
            guard returned.wait(timeout: .now() + seconds) == .success else { return nil }
            return outcome.withLock { $0 }
        }
    }

    /// The lost stop: the station cancels while its monitor is between two
    /// waits (handling the last change), so no call is blocked in pcscd. The
    /// next wait must return at once instead of sleeping until a card moves.
    func testACancelBetweenTwoWaitsEndsTheNextWait() throws {
        _ = try Rig.context()
        let monitor = try ReaderMonitor()
        XCTAssertFalse(try monitor.snapshot().isEmpty, "the rig's virtual readers")
        monitor.cancel()
        let outcome = startWaiting(monitor)(5)
        let result = try XCTUnwrap(outcome, "waitForChange still blocked in pcscd 5 s after cancel(): the stop was lost")
        XCTAssertNil(try result.get(), "a cancelled wait returns nil")
        XCTAssertNil(try monitor.waitForChange(), "the stop sticks for every later wait")
    }

    func testACancelWakesAWaitBlockedInPCSCD() throws {
        _ = try Rig.context()
        let monitor = try ReaderMonitor()
        _ = try monitor.snapshot()
        let outcome = startWaiting(monitor)
        // Whether the wait is already inside pcscd or not, cancel() ends it.
        monitor.cancel()
        XCTAssertNil(try XCTUnwrap(outcome(5), "cancel() did not wake the wait").get())
    }
}
