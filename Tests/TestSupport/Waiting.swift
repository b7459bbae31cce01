import Foundation
import XCTest

/// Thrown by `waitUntil` once its deadline passed (the test has already been failed with the reason).
public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

/// Waits for an event the test cannot be called back for (a line in a log, a
/// file appearing, another process's state) by looking again every 20 ms. A
/// fixed sleep would assume the event happened; this fails the test, naming
/// `what`, if it has not happened after `seconds`.
public func waitUntil(_ what: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                      _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        guard Date() < deadline else {
            let reason = "timed out after \(seconds) s waiting for \(what)"
            XCTFail(reason, file: file, line: line)
            throw TimedOut(description: reason)
        }
        usleep(20_000)
    }
}
