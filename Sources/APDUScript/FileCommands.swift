import APDU
import CardTransport

/// `read binary|record|all` and `cat`: the current EF's content, as a hex
/// dump with ASCII, in the largest chunks the channel carries.
struct FileCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let variables: ScriptVariables
    let recorder: TranscriptRecorder

    func readBinary(offset: String, length: String, expect: String?) throws {
        let start = try variables.bounded(offset, "offset", 0...0x7FFF)
        let count = try variables.bounded(length, "length", 0...CommandAPDU.maxExpectedLength)
        let limit = try connection.session().secure?.maxResponseData ?? 256
        try exchanger.exchange(ISOCommand.readBinary(offset: start, length: count == 0 ? min(256, limit) : count), expect: expect,
                               dump: true)
    }

    func readRecord(number: String, expect: String?) throws {
        let record = try variables.bounded(number, "record number", 1...254)
        let limit = try connection.session().secure.map { min(256, $0.maxResponseData) } ?? 256
        try exchanger.exchange(ISOCommand.readRecord(record, length: limit), expect: expect, dump: true)
    }

    func readAll() throws {
        try show(try readWholeEF(), label: "READ BINARY")
    }

    /// The whole current EF, by records when it has them; EF.ICCID also as digits.
    func cat() throws {
        let session = try connection.session()
        if case .linearFixed(_, let count)? = session.location.structure {
            try catRecords(count)
        } else if case .cyclic(_, let count)? = session.location.structure {
            try catRecords(count)
        } else {
            try show(try readWholeEF(), label: "READ BINARY")
        }
        exchanger.lastKind = session.location.kind
        if session.location.kind == .iccid, let data = exchanger.lastResponse?.data, !exchanger.isSensitive(data) {
            for text in (try? ICCID.lines(data)) ?? ["(not BCD digits)"] { recorder.say(text) }
        }
    }

    private func catRecords(_ count: Int) throws {
        let channel = try connection.session().transport
        var all: [UInt8] = []
        for number in 1...max(1, min(count, 254)) {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            let response = try channel.transmit(ISOCommand.readRecord(number))
            guard response.status == .success else { break }
            recorder.say("record \(number):")
            if exchanger.isSensitive(response.data) {
                recorder.say("  <redacted \(response.data.count) bytes>")
            } else {
                for text in HexDump.lines(response.data) { recorder.say("  \(text)") }
            }
            all += response.data
        }
        exchanger.remember(ResponseAPDU(data: all, status: .success))
    }

    /// READ BINARY from offset 0 until the card says the EF ends.
    func readWholeEF() throws -> (data: [UInt8], reads: Int) {
        let target = try connection.session().transport
        let chunk = min(256, connection.currentSession?.secure?.maxResponseData ?? 256)
        var content: [UInt8] = []
        var reads = 0
        while content.count <= 0x7FFF {
            if Interrupt.take() { throw ScriptFailure.interrupted }
            let response = try target.transmit(ISOCommand.readBinary(offset: content.count, length: chunk))
            reads += 1
            if response.status == StatusWord(0x6B00) && !content.isEmpty { break }
            guard response.status == .success || response.status == StatusWord(0x6282) else {
                throw CardStatusError("READ BINARY at offset \(content.count)", response.status)
            }
            content += response.data
            if response.data.count < chunk || response.status != .success { break }
        }
        exchanger.remember(ResponseAPDU(data: content, status: .success))
        return (content, reads)
    }

    /// A whole EF, as a hex dump with ASCII, or its size when the card encrypted it.
    private func show(_ read: (data: [UInt8], reads: Int), label: String) throws {
        if exchanger.isSensitive(read.data) {
            recorder.say("< <redacted \(read.data.count) bytes> (\(read.data.count) bytes in \(read.reads) \(label); --reveal-secrets shows them)")
            return
        }
        for text in HexDump.lines(read.data) { recorder.say("  \(text)") }
        recorder.say("< \(read.data.count) bytes in \(read.reads) \(label)")
    }
}
