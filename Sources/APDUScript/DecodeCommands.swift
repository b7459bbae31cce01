import APDU

/// `atr` and `decode`: structures explained with the same decoders
/// `dmboot decode` uses, secrets redacted unless revealed.
struct DecodeCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let recorder: TranscriptRecorder
    let revealSecrets: Bool

    func atr() throws {
        _ = try connection.session()
        for text in try CardDecoder.decode(connection.atr, as: .atr) { recorder.say(text) }
    }

    /// The given hex, or else the last response with what the shell knows it is.
    func decode(kind: CardDecoder.Kind, hex: String?) throws {
        let bytes: [UInt8]
        var hint: CardDecoder.Kind?
        if let hex {
            bytes = try Hex.decode(hex)
        } else {
            guard let lastResponse = exchanger.lastResponse else {
                throw ScriptFailure.invalidArgument("no response to decode yet; give hex: decode fcp 62..")
            }
            bytes = lastResponse.data
            hint = exchanger.lastKind
        }
        guard !bytes.isEmpty || kind == .atr else { throw ScriptFailure.invalidArgument("the response has no data to decode") }
        if hex == nil && kind != .bootstrap && hint != .bootstrap && exchanger.isSensitive(bytes) {
            throw ScriptFailure.invalidArgument("the card encrypted this response; --reveal-secrets shows it (decode bootstrap redacts its secrets)")
        }
        for text in try CardDecoder.decode(bytes, as: kind, hint: hint, revealSecrets: revealSecrets) { recorder.say(text) }
    }
}
