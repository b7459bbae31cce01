/// What stands between a command and a change to the card (or a file the
/// shell writes): an interactive y/N, or `--yes` in a script. A change no
/// one agreed to is not made and nothing is sent.
struct ChangeGate {
    /// Asks on the terminal; nil when no one is there to answer.
    let confirm: ((String) -> Bool)?
    /// `--yes`: a script's changes go ahead without asking.
    let assumeYes: Bool

    func approve(_ change: String) throws {
        if assumeYes { return }
        guard let confirm else { throw ScriptFailure.notConfirmed(change) }
        guard confirm(change) else { throw ScriptFailure.notConfirmed(change) }
    }
}
