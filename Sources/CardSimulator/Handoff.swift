import Synchronization

/// Hands a value that is not Sendable to another thread: `init` takes it
/// from a caller that keeps no reference (`sending`, checked by the
/// compiler) and `take()` gives it to exactly one taker.
final class Handoff<Value>: Sendable {
    private let slot: Mutex<Value?>

    init(_ value: sending Value) {
        slot = Mutex(value)
    }

    /// The value, to the first caller only.
    func take() -> sending Value? {
        slot.withLock { value -> sending Value? in
            let taken = value.take()
            return taken
        }
    }
}
