import CardTransport
import Foundation
import Synchronization
import TerminalText

/// `watch [SECONDS]`: reader and card events as `dmboot readers --watch`
/// shows them (`ReaderWatchLoop`), until Ctrl-C or SECONDS have passed.
/// Ctrl-C ends the watch only; a script goes on with its next line.
struct WatchCommand {
    let recorder: TranscriptRecorder
    let variables: ScriptVariables

    static let maxSeconds = 86_400

    /// Set once the watch is over, so the thread that cancels it ends too.
    private final class Finished: Sendable {
        let value = Atomic<Bool>(false)
    }

    func run(seconds text: String?) throws {
        let limit = try text.map { try variables.bounded($0, "watch seconds", 1...Self.maxSeconds) }
        let end = limit.map { Date().addingTimeInterval(Double($0)) }
        let monitor = try ReaderMonitor()
        let finished = Finished()
        // SCardGetStatusChange sleeps in pcscd: this thread wakes it for Ctrl-C or the end of the time.
        Thread.detachNewThread {
            while !finished.value.load(ordering: .acquiring) {
                if Interrupt.isRaised || end.map({ Date() >= $0 }) == true {
                    monitor.cancel()
                    return
                }
                usleep(50_000)
            }
        }
        defer { finished.value.store(true, ordering: .releasing) }
        recorder.say(limit.map { "watching the readers for \($0) s (Ctrl-C ends it)" } ?? "watching the readers (Ctrl-C ends it)")
        try ReaderWatchLoop.run(monitor) { recorder.say(TerminalText.escape($0.text)) }
        _ = Interrupt.take()
        recorder.say("watch ended")
    }
}
