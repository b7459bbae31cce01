import APDU
import CardTransport

/// An in-process link that answers from a script of expected commands, for
/// testing the transport rules without pcscd.
final class ScriptedLink: CardLink {
    struct Exchange {
        let command: String
        let response: String
    }

    private var script: [Exchange]
    private(set) var sent: [[UInt8]] = []
    let transmissionProtocol: TransmissionProtocol

    init(_ script: [(String, String)], protocol: TransmissionProtocol = .t1) {
        self.script = script.map { Exchange(command: $0.0, response: $0.1) }
        transmissionProtocol = `protocol`
    }

    var isExhausted: Bool { script.isEmpty }

    func transmit(raw command: [UInt8]) throws -> [UInt8] {
        sent.append(command)
        guard !script.isEmpty else { throw TransportError.malformedResponse([]) }
        let next = script.removeFirst()
        guard command == [UInt8](hex: next.command) else {
            throw UnexpectedCommand(expected: next.command, actual: command.hexString)
        }
        return [UInt8](hex: next.response)
    }

    struct UnexpectedCommand: Error {
        let expected: String
        let actual: String
    }
}
