import APDU
import CardTransport

/// Sends commands on the current channel and keeps the last answer: shown
/// as scriptor shows it, left in `$sw`/`$response`, checked against what the
/// line expects. Data the card encrypted stays redacted everywhere unless
/// `--reveal-secrets`, because the card encrypted it for a reason.
final class CardExchanger {
    private let connection: CardConnection
    private let recorder: TranscriptRecorder
    private let variables: ScriptVariables
    private let revealSecrets: Bool
    private(set) var lastResponse: ResponseAPDU?
    /// What the last response is, when the shell knows (the file read, the command sent).
    var lastKind: CardDecoder.Kind?

    init(connection: CardConnection, recorder: TranscriptRecorder, variables: ScriptVariables, revealSecrets: Bool) {
        self.connection = connection
        self.recorder = recorder
        self.variables = variables
        self.revealSecrets = revealSecrets
    }

    func isSensitive(_ data: [UInt8]) -> Bool {
        guard let secure = connection.currentSession?.secure else { return false }
        return secure.level.hasResponseEncryption && !data.isEmpty && !revealSecrets
    }

    /// Sends `command`, shows and remembers the answer, and checks it when the line has `expect`.
    @discardableResult
    func exchange(_ command: CommandAPDU, expect: String?, dump: Bool = false) throws -> ResponseAPDU {
        let response = try connection.session().transport.transmit(command)
        remember(response)
        recorder.current?.command = command.description
        report(command, response, dump: dump)
        if let expect, let line = recorder.current {
            try check(response.status, against: try variables.substitute(expect),
                      line: ScriptLine(file: line.file, number: line.line, text: line.text, statement: .expect(expect)))
        }
        return response
    }

    func remember(_ response: ResponseAPDU) {
        lastResponse = response
        variables["sw"] = response.status.hex
        variables["sw1"] = Hex.encode([response.status.sw1])
        variables["sw2"] = Hex.encode([response.status.sw2])
        // A redacted response stays redacted in $response too, or echo would show it.
        let shown = isSensitive(response.data) ? "<redacted \(response.data.count) bytes>" : response.data.hexString
        variables["response"] = shown
        recorder.current?.response = shown
        recorder.current?.status = response.status.hex
    }

    /// The command, the answer and, as scriptor does, what its status word means.
    func report(_ command: CommandAPDU, _ response: ResponseAPDU, dump: Bool = false) {
        recorder.say("> \(command)")
        let status = "\(Hex.encode([response.status.sw1, response.status.sw2], separator: " ")): \(response.status.meaning)"
        if isSensitive(response.data) {
            recorder.say("< <redacted \(response.data.count) bytes> \(status)")
        } else if dump && response.data.count > 16 {
            for text in HexDump.lines(response.data) { recorder.say("  \(text)") }
            recorder.say("< \(status)")
        } else {
            recorder.say("< \(response.data.isEmpty ? "" : response.data.hexString + " ")\(status)")
        }
    }

    /// `expect PATTERN`: the last status word must match.
    func expect(_ pattern: String, line: ScriptLine) throws {
        guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to check yet") }
        try check(lastResponse.status, against: try variables.substitute(pattern), line: line)
    }

    /// What an `if` tests, against the last answer.
    func holds(_ condition: Statement.Condition) throws -> Bool {
        guard let lastResponse else { throw ScriptFailure.invalidArgument("no response to test yet") }
        switch condition {
        case .status(let text):
            return try StatusPattern(try variables.substitute(text)).matches(lastResponse.status)
        case .response(let text):
            if isSensitive(lastResponse.data) {
                throw ScriptFailure.invalidArgument("the response was encrypted by the card; test it only with --reveal-secrets")
            }
            return try ResponsePattern(try variables.substitute(text)).matches(lastResponse.data)
        }
    }

    private func check(_ status: StatusWord, against text: String, line: ScriptLine) throws {
        let pattern = try StatusPattern(text)
        recorder.current?.expected = pattern.description
        guard pattern.matches(status) else {
            throw ScriptFailure.expectationFailed(file: line.file, line: line.number, text: line.text,
                                                  expected: pattern.description, actual: status)
        }
    }
}
