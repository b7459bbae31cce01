import APDU
import CardCrypto
import CardTransport
import Foundation
import KeyCustody

/// `verify`, `change-pin` and `unblock-pin`: ISO/IEC 7816-4:2005 VERIFY
/// (7.5.6), CHANGE REFERENCE DATA (7.5.7) and RESET RETRY COUNTER (7.5.10).
/// Before any PIN is sent the card is asked how many tries are left (VERIFY
/// without data counts nothing), so a blocked PIN is never tried and the
/// last try is never spent without a yes. A refusal is reported with the
/// tries left and never retried. PINs come from a prompt without echo, an
/// environment variable or an owner-only file, never from the line, and
/// the commands that carry them are kept out of the transcript and trace.
struct PINCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let recorder: TranscriptRecorder
    let variables: ScriptVariables
    let gate: ChangeGate
    /// Reads a secret without echo; nil when no one is at a terminal.
    let prompt: ((String) -> SecretBytes?)?

    /// ETSI TS 102 221 9.5.1: a PIN is ASCII, padded with FF to 8 bytes.
    static let blockLength = 8

    func perform(_ action: Statement.PINAction, reference text: String, sources: [String]) throws {
        let reference = try Self.reference(try variables.substitute(text))
        switch action {
        case .verify:
            let left = try triesLeft(reference)
            if left == nil {
                recorder.say("PIN \(Hex.encode([reference])) is already verified (VERIFY without data: 9000)")
                return
            }
            try guardLastTry(left, "VERIFY", reference: reference)
            var pin = try secret(sources.first, "PIN \(Hex.encode([reference]))")
            defer { Secure.wipe(&pin) }
            try send(ISOCommand.verify(reference: reference, pin: pin), name: "VERIFY", reference: reference)
            recorder.say("PIN \(Hex.encode([reference])) verified")
        case .change:
            try guardLastTry(try triesLeft(reference), "CHANGE REFERENCE DATA", reference: reference)
            var current = try secret(sources.first, "current PIN \(Hex.encode([reference]))")
            var new = try newSecret(sources.count > 1 ? sources[1] : nil, reference: reference)
            defer { Secure.wipe(&current); Secure.wipe(&new) }
            try gate.approve("change PIN \(Hex.encode([reference]))")
            try send(ISOCommand.changeReferenceData(reference: reference, current: current, new: new),
                     name: "CHANGE REFERENCE DATA", reference: reference)
            recorder.say("PIN \(Hex.encode([reference])) changed")
        case .unblock:
            // The PIN is expected to be blocked: its counter is not asked; the PUK's refusal says its own.
            var puk = try secret(sources.first, "PUK of PIN \(Hex.encode([reference]))")
            var new = try newSecret(sources.count > 1 ? sources[1] : nil, reference: reference)
            defer { Secure.wipe(&puk); Secure.wipe(&new) }
            try gate.approve("unblock PIN \(Hex.encode([reference])) and set a new one (a wrong PUK uses one of its tries)")
            try send(ISOCommand.resetRetryCounter(reference: reference, resettingCode: puk, new: new),
                     name: "RESET RETRY COUNTER", reference: reference, isPUK: true)
            recorder.say("PIN \(Hex.encode([reference])) unblocked and set")
        }
    }

    static func reference(_ text: String) throws -> UInt8 {
        guard let bytes = try? Hex.decode(text), bytes.count == 1 else {
            throw ScriptFailure.invalidArgument("a PIN reference is one hex byte, such as 01 or 81; not \"\(text)\"")
        }
        return bytes[0]
    }

    /// VERIFY without data: nil when verification is not needed (9000),
    /// else the tries left from 63Cx; a blocked PIN ends the command here.
    private func triesLeft(_ reference: UInt8) throws -> Int? {
        let command = ISOCommand.verify(reference: reference)
        let response = try connection.session().transport.transmit(command)
        exchanger.remember(response)
        exchanger.report(command, response)
        switch response.status.value {
        case 0x9000: return nil
        case 0x6983, 0x63C0: throw ScriptFailure.pinBlocked(reference: reference)
        case 0x63C1...0x63CF:
            let left = Int(response.status.sw2 & 0x0F)
            recorder.say("PIN \(Hex.encode([reference])): \(left) \(left == 1 ? "try" : "tries") left")
            return left
        default: throw CardStatusError("VERIFY \(Hex.encode([reference])) without data", response.status)
        }
    }

    private func guardLastTry(_ left: Int?, _ name: String, reference: UInt8) throws {
        guard left == 1 else { return }
        try gate.approve("\(name) with one try left: a wrong PIN \(Hex.encode([reference])) blocks it")
    }

    /// Sends a command that carries PINs; neither the transcript nor the
    /// trace sees its data. A refusal shows the tries left and ends the line.
    private func send(_ command: CommandAPDU, name: String, reference: UInt8, isPUK: Bool = false) throws {
        let response = try recorder.hidingCommandData {
            try connection.session().transport.transmit(command)
        }
        exchanger.remember(response)
        let header = Hex.encode([command.cla, command.ins, command.p1, command.p2])
        recorder.say("> \(name) \(header) <\(command.data.count) bytes of PIN data, not shown>")
        recorder.say("< \(Hex.encode([response.status.sw1, response.status.sw2], separator: " ")): \(response.status.meaning)")
        switch response.status.value {
        case 0x9000: return
        case 0x6983, 0x63C0: throw ScriptFailure.pinBlocked(reference: reference)
        case 0x63C1...0x63CF:
            throw ScriptFailure.pinRefused(reference: reference, triesLeft: Int(response.status.sw2 & 0x0F), puk: isPUK)
        default: throw CardStatusError("\(name) \(Hex.encode([reference]))", response.status)
        }
    }

    /// A PIN block from `env:NAME`, `file:PATH` (owner-only) or the prompt.
    private func secret(_ source: String?, _ what: String) throws -> [UInt8] {
        let value: SecretBytes
        if let source {
            value = try Self.read(try variables.substitute(source))
        } else {
            guard let prompt else {
                throw ScriptFailure.noSecret("\(what): give env:NAME or file:PATH in a script (PINs are never written on the line)")
            }
            guard let typed = prompt("\(what): ") else { throw ScriptFailure.interrupted }
            value = typed
        }
        defer { value.wipe() }
        return try Self.block(value, what: what)
    }

    private func newSecret(_ source: String?, reference: UInt8) throws -> [UInt8] {
        let what = "new PIN \(Hex.encode([reference]))"
        let new = try secret(source, what)
        if source == nil {
            var again = try secret(nil, "\(what) again")
            defer { Secure.wipe(&again) }
            guard Secure.constantTimeEquals(new, again) else {
                throw ScriptFailure.invalidArgument("the two new PINs differ; nothing was sent")
            }
        }
        return new
    }

    static func read(_ source: String) throws -> SecretBytes {
        if source.hasPrefix("env:") {
            let name = String(source.dropFirst(4))
            guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else {
                throw ScriptFailure.noSecret("the environment variable \(name) is not set")
            }
            var bytes = Array(text.utf8)
            return SecretBytes(wiping: &bytes)
        }
        guard source.hasPrefix("file:") else {
            throw ScriptFailure.invalidArgument("a PIN comes from env:NAME or file:PATH, never from the line")
        }
        return try PINSource.read(source, environment: [:])
    }

    static func block(_ value: SecretBytes, what: String) throws -> [UInt8] {
        var bytes = value.exposedCopy()
        defer { Secure.wipe(&bytes) }
        guard (1...blockLength).contains(bytes.count) else {
            throw ScriptFailure.invalidArgument("\(what) is \(bytes.count) characters; a PIN is 1 to \(blockLength)")
        }
        return bytes + [UInt8](repeating: 0xFF, count: blockLength - bytes.count)
    }
}
