import CardResults
import Foundation
import Station
import Synchronization
import TerminalText

/// The live status on stderr: a line per reader, redrawn in place on a terminal, plain lines otherwise.
public final class StatusBoard: Sendable {
    private struct Drawing {
        var drawn = 0
        var shown: [String: String] = [:]
    }

    private let drawing = Mutex(Drawing())
    private let terminal = isatty(STDERR_FILENO) == 1

    public init() {}

    public func note(_ result: CardResult) {
        let text = result.succeeded
            ? "\(result.reader): \(result.outcome) \(result.cardIdentity ?? "") in \(String(format: "%.0f", result.milliseconds)) ms, \(result.apduCount ?? 0) APDUs"
                + result.warnings.map { "\n\(result.reader): \($0)" }.joined()
            : "\(result.reader): FAILED \(result.outcome) (\(result.exitCode)): \(result.error ?? "")"
        if !terminal { Self.emit(TerminalText.escape(text) + "\n") }
    }

    public func show(_ states: [String: ReaderActivity]) {
        drawing.withLock { drawing in
            let lines = states.keys.sorted().map { name -> (String, String) in
                switch states[name]! {
                case .waitingForCard: return (name, "\(name): waiting for a card")
                case .provisioning: return (name, "\(name): provisioning...")
                case .removeCard(let outcome, let identity):
                    return (name, "\(name): \(outcome) \(identity ?? "") - remove the card")
                case .gone: return (name, "\(name): reader gone")
                }
            }
            if terminal {
                var text = drawing.drawn > 0 ? "\u{1B}[\(drawing.drawn)A" : ""
                for (_, line) in lines { text += "\u{1B}[2K\(TerminalText.escape(line))\n" }
                drawing.drawn = lines.count
                Self.emit(text)
            } else {
                // Plain lines: only what changed, and no "remove the card" (the result line said it).
                let changed = lines.filter { drawing.shown[$0.0] != $0.1 }
                for (name, line) in changed { drawing.shown[name] = line }
                Self.emit(changed.map(\.1).filter { !$0.hasSuffix("remove the card") }.map { TerminalText.escape($0) + "\n" }.joined())
            }
        }
    }

    public func message(_ text: String) {
        drawing.withLock { $0.drawn = 0 }
        Self.emit(TerminalText.escapeLines(text) + "\n")
    }

    static func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
