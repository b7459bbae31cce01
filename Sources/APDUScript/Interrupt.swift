import Synchronization

/// Ctrl-C while a command runs: the shell's SIGINT handler raises the flag,
/// the interpreter lowers it and stops between two card exchanges (never in
/// the middle of one, so no secure channel is left half-wrapped).
public enum Interrupt {
    private static let flag = Atomic<Bool>(false)

    /// Async-signal-safe: one lock-free store.
    public static func raise() { flag.store(true, ordering: .relaxed) }

    /// Whether Ctrl-C came since the last check; clears it.
    public static func take() -> Bool { flag.exchange(false, ordering: .relaxed) }

    public static var isRaised: Bool { flag.load(ordering: .relaxed) }
}
