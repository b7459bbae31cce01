import CardSimulator
import CommandLineSupport
import Foundation
import JSONOutput
import Synchronization

/// --feed: a station operator in software (`CardFeeder`), one JSON line per
/// card on stdout.
struct Feeding {
    let slots: SlotOptions
    let gap: Double
    let untouchedTimeout: Double
    let firstCard: Int
    let iccidPrefix: String

    func run(profiles: [CardProfile], ports: [UInt16], count: Int) throws {
        var configuration = CardFeeder.Configuration(ports: ports, profiles: profiles, count: count)
        configuration.host = slots.host
        configuration.gap = gap
        configuration.untouchedTimeout = untouchedTimeout
        configuration.firstCard = firstCard
        configuration.iccidPrefix = iccidPrefix
        configuration.responseDelay = slots.responseDelay
        configuration.connectTimeout = slots.connectTimeout
        let output = Mutex(FileHandle.standardOutput)
        let feeder = CardFeeder(configuration: configuration) { report in
            do {
                let line = try JSONOutput.line(report)
                output.withLock { $0.write(line) }
            } catch {
                Output.progress("dmboot-sim: \(error)")
            }
        }
        let termination = Termination {
            Output.progress("dmboot-sim: no more cards; pulling the cards in the readers once they are done")
            feeder.stop()
        }
        defer { termination.cancel() }
        let reports = try feeder.run()
        let untouched = reports.filter { $0.outcome != "used" }.count
        Output.progress("dmboot-sim: fed \(reports.count) card(s) through \(ports.count) slot(s), \(untouched) untouched")
    }
}
