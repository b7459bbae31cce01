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

/// The pid of a process that has exited and been reaped: what a killed
/// process leaves in the names of its files.
public func deadPID() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}
