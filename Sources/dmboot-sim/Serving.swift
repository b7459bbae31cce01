import CardSimulator
import CommandLineSupport

/// Cards in slots until they are pulled (SIGINT, SIGTERM) or pcscd lets go.
struct Serving {
    let slots: SlotOptions

    /// Slot i gets profile i, or the last one when there are fewer profiles.
    func run(profiles: [CardProfile], ports: [UInt16]) throws {
        var inserted: [VirtualReaderSlot] = []
        do {
            for (index, port) in ports.enumerated() {
                let profile = profiles[min(index, profiles.count - 1)]
                inserted.append(try VirtualReaderSlot(card: VirtualCard(profile: profile), port: port, host: slots.host,
                                                      connectTimeout: slots.connectTimeout,
                                                      responseDelay: slots.responseDelay))
                Output.progress("dmboot-sim: \"\(profile.name)\" inserted in the vpcd slot at \(slots.host):\(port)")
            }
        } catch {
            inserted.forEach { $0.remove() }
            throw error
        }
        let cards = inserted
        let termination = Termination { cards.forEach { $0.pull() } }
        defer { termination.cancel() }
        var failure: Error?
        for card in cards {
            do { try card.waitUntilOut() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
        Output.progress("dmboot-sim: card(s) removed")
    }
}
