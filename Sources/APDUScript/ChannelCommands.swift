import APDU
import CardTransport

/// `channel open|close|N`: MANAGE CHANNEL, and which channel commands go to.
struct ChannelCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let variables: ScriptVariables
    let recorder: TranscriptRecorder

    func perform(_ action: Statement.ChannelAction) throws {
        let origin = try connection.session()
        guard let wire = connection.wire else { throw ScriptFailure.notConnected }
        switch action {
        case .open:
            try open(from: origin, wire: wire)
        case .close(let text):
            try close(try text.map { try variables.bounded($0, "channel", 1...19) } ?? connection.channelNumber, wire: wire)
        case .use(let text):
            let number = try variables.bounded(text, "channel", 0...19)
            try connection.use(channel: number)
            recorder.say("channel \(number)")
        }
    }

    /// MANAGE CHANNEL goes plain, whatever secure channel is open: it is the
    /// card runtime's interindustry command (ISO/IEC 7816-4:2005 7.1.2,
    /// 2013 11.1.2), which the Java Card RE takes only with CLA 000000cc or
    /// 0100dddd and never forwards to an application or its security domain
    /// (Java Card 3 Runtime Environment Specification 4.5.1), so a wrapped
    /// one is not understood. Open goes on the origin channel (its CLA names
    /// it), close on the basic channel.
    private func open(from origin: ChannelSession, wire: ISO7816Channel) throws {
        let response = try origin.link.transmit(ISOCommand.openChannel())
        exchanger.report(ISOCommand.openChannel(), response)
        guard response.status == .success, let number = response.data.first, let channel = try? LogicalChannel(Int(number)) else {
            throw CardStatusError("MANAGE CHANNEL open", response.status)
        }
        let opened = ChannelSession(number: channel.number, link: LogicalChannelLink(channel: channel, inner: wire))
        // ISO/IEC 7816-4 section 7.1.2: from the basic channel the new one starts at the MF, otherwise at the origin's DF.
        if origin.number != 0 { opened.location = origin.location; opened.pkcs15 = origin.pkcs15 }
        connection.add(opened)
        recorder.say("channel \(channel.number) open and current")
    }

    private func close(_ number: Int, wire: ISO7816Channel) throws {
        guard number != 0 else { throw ScriptFailure.invalidArgument("the basic channel (0) cannot be closed") }
        guard let closing = connection.channels[number] else { throw ScriptFailure.invalidArgument("channel \(number) is not open") }
        let command = ISOCommand.closeChannel(try LogicalChannel(number))
        let response = try (connection.channels[0]?.link ?? wire).transmit(command)
        exchanger.report(command, response)
        guard response.status == .success else { throw CardStatusError("MANAGE CHANNEL close \(number)", response.status) }
        closing.endSecureChannel()
        connection.remove(channel: number)
        recorder.say("channel \(number) closed; current channel \(connection.channelNumber)")
    }
}

