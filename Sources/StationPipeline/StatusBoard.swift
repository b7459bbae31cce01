import CardResults
import Foundation
import LineFigures
import Station
import Synchronization
import TerminalText

/// The live status on stderr: a line per reader and the progress of the run
/// (cards by outcome, rate and, with a card limit, the time left), redrawn in
/// place on a terminal. Elsewhere (a log file, a pipe) plain lines, each
/// stamped with the time, so a supervisor reading them later knows when.
public final class StatusBoard: Sendable {
    private struct Drawing {
        var drawn = 0
        var shown: [String: String] = [:]
        var states: [String: ReaderActivity] = [:]
        /// Provisioned and unchanged apart; every other figure is `figures`'.
        var outcomes: [String: Int] = [:]
        var figures = LineFigures()
    }

    private let drawing = Mutex(Drawing())
    private let terminal: Bool
    private let maxCards: Int?

    public init(maxCards: Int? = nil, terminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.maxCards = maxCards
        self.terminal = terminal
    }

    public func note(_ result: CardResult) {
        let text = result.succeeded
            ? "\(result.reader): \(Self.describe(result.outcome)) \(result.cardIdentity ?? "") in \(String(format: "%.0f", result.milliseconds)) ms, \(result.apduCount ?? 0) APDUs"
                + result.warnings.map { "\n\(result.reader): \($0)" }.joined()
            : "\(result.reader): FAILED \(result.outcome) (\(result.exitCode)): \(result.error ?? "") [\(Self.identify(result))]"
        drawing.withLock { drawing in
            drawing.figures.add(result)
            if result.kind == .succeeded { drawing.outcomes[result.outcome, default: 0] += 1 }
            if terminal {
                redraw(&drawing)
            } else {
                Self.emit(Self.stamped(text) + Self.stamped(progress(drawing)))
            }
        }
    }

    public func show(_ states: [String: ReaderActivity]) {
        drawing.withLock { drawing in
            drawing.states = states
            if terminal {
                redraw(&drawing)
            } else {
                // Plain lines: only what changed, and no "remove the card" (the result line said it).
                let changed = Self.lines(states).filter { drawing.shown[$0.0] != $0.1 }
                for (name, line) in changed { drawing.shown[name] = line }
                Self.emit(changed.map(\.1).filter { !$0.hasSuffix("remove the card") }.map(Self.stamped).joined())
            }
        }
    }

    public func message(_ text: String) {
        drawing.withLock { $0.drawn = 0 }
        Self.emit(terminal ? TerminalText.escapeLines(text) + "\n" : Self.stamped(text))
    }

    /// "12 card(s): 10 provisioned, 1 unchanged, 1 duplicate, 0 failed; yield 100.0 %; 8.4 cards/min; 8 of 20 to go,
    /// about 1 min", every figure as LineFigures defines it.
    private func progress(_ drawing: Drawing) -> String {
        let figures = drawing.figures
        var text = "\(figures.cards) card(s): \(drawing.outcomes["provisioned"] ?? 0) provisioned, "
            + "\(drawing.outcomes["unchanged"] ?? 0) unchanged, \(figures.duplicates) duplicate, \(figures.failed) failed; "
            + "yield \(figures.yieldText); \(figures.rateText) cards/min"
        if let maxCards {
            let left = max(0, maxCards - figures.cards)
            text += "; \(left) of \(maxCards) to go"
            if left > 0, let rate = figures.cardsPerMinute { text += ", about \(Self.duration(Double(left) / rate * 60))" }
        }
        return text
    }

    private func redraw(_ drawing: inout Drawing) {
        var lines = Self.lines(drawing.states).map(\.1)
        if drawing.figures.cards > 0 { lines.append(progress(drawing)) }
        var text = drawing.drawn > 0 ? "\u{1B}[\(drawing.drawn)A" : ""
        for line in lines { text += "\u{1B}[2K\(TerminalText.escape(line))\n" }
        drawing.drawn = lines.count
        Self.emit(text)
    }

    private static func lines(_ states: [String: ReaderActivity]) -> [(String, String)] {
        states.keys.sorted().map { name -> (String, String) in
            switch states[name]! {
            case .waitingForCard: return (name, "\(name): waiting for a card")
            case .provisioning: return (name, "\(name): provisioning...")
            case .removeCard(let outcome, let identity):
                return (name, "\(name): \(describe(outcome)) \(identity ?? "") - remove the card")
            case .gone: return (name, "\(name): reader gone")
            }
        }
    }

    static func describe(_ outcome: String) -> String {
        switch outcome {
        case "unchanged": return "unchanged (its tree already holds these accounts)"
        case "duplicate": return "duplicate (already provisioned in this run)"
        default: return outcome
        }
    }

    /// Every identity of a failed card that was read: the ATR at least.
    static func identify(_ result: CardResult) -> String {
        [result.atr.map { "ATR \($0)" }, result.iccid.map { "ICCID \($0)" }, result.pkcs15Serial.map { "PKCS#15 serial \($0)" }]
            .compactMap { $0 }.joined(separator: ", ").nonEmpty ?? "no answer to reset"
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 90 ? "\(Int(seconds.rounded())) s" : "\(Int((seconds / 60).rounded())) min"
    }

    /// A plain line with the time in front, escaped for the terminal it may still reach.
    static func stamped(_ line: String) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let time = formatter.string(from: Date())
        return TerminalText.escapeLines(line).split(separator: "\n", omittingEmptySubsequences: false)
            .map { "\(time) \($0)\n" }.joined()
    }

    static func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
