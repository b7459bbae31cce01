import Foundation
import ArgumentParser

/// `--batch` and `--operator`, as `station` and `provision` take them: the
/// names every record of the run carries, so that a batch is reported whole.
struct BatchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The batch of cards this run provisions, in the log, the results and every report.",
                               valueName: "id"))
    var batch: String?

    @Option(help: ArgumentHelp("Who runs the line, in the log, the results and every report.", valueName: "name"))
    var `operator`: String?

    func validate() throws {
        try Self.check(batch, "--batch")
        try Self.check(`operator`, "--operator")
    }

    /// A name that reads the same in a terminal, a CSV file and a web page: 1 to 64 printable characters.
    static func check(_ value: String?, _ option: String) throws {
        guard let value else { return }
        guard (1...64).contains(value.count), value.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }),
              value.trimmingCharacters(in: .whitespaces) == value else {
            throw ValidationError("\(option) takes 1 to 64 printable characters, without a control character or "
                                  + "leading or trailing blanks: \(value.debugDescription)")
        }
    }
}
