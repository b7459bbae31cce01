import CardSimulator
import Foundation
import Synchronization

/// --feed: a station operator in software (`CardFeeder`), one JSON line per
/// card on stdout.
struct Feeding {
    let slots: SlotOptions
    let gap: Double
    let untouchedTimeout: Double

    func run(profiles: [CardProfile], ports: [UInt16], count: Int) throws {
        var configuration = CardFeeder.Configuration(ports: ports, profiles: profiles, count: count)
        configuration.host = slots.host
        configuration.gap = gap
        configuration.untouchedTimeout = untouchedTimeout
        configuration.responseDelay = slots.responseDelay
        configuration.connectTimeout = slots.connectTimeout
        let output = Mutex(FileHandle.standardOutput)
        let feeder = CardFeeder(configuration: configuration) { report in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let line = try? encoder.encode(report) else { return }
            output.withLock { $0.write(line + Data("\n".utf8)) }
        }
        let termination = Termination {
            Progress.report("dmboot-sim: no more cards; pulling the cards in the readers once they are done")
            feeder.stop()
        }
        defer { termination.cancel() }
        let reports = try feeder.run()
        let untouched = reports.filter { $0.outcome != "used" }.count
        Progress.report("dmboot-sim: fed \(reports.count) card(s) through \(ports.count) slot(s), \(untouched) untouched")
    }
}
