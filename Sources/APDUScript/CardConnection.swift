import APDU
import CardTransport
import Foundation
import TerminalText

/// The card the shell talks to and its open logical channels. Connecting,
/// resetting and disconnecting all start the channels over, so that state
/// lives here with the card and nowhere else.
final class CardConnection {
    private let recorder: TranscriptRecorder
    /// The reader `connect` uses when a line names none (`--reader`).
    private let defaultReader: String?
    private var context: PCSCContext?
    private var card: PCSCCard?
    private(set) var atr: [UInt8] = []
    private(set) var wire: ISO7816Channel?
    private(set) var channels: [Int: ChannelSession] = [:]
    /// The channel commands go to.
    private(set) var channelNumber = 0
    /// `getresponse on|off`, kept across connections.
    var followsResponseChain = true {
        didSet { wire?.followsResponseChain = followsResponseChain }
    }

    init(defaultReader: String?, recorder: TranscriptRecorder) {
        self.defaultReader = defaultReader
        self.recorder = recorder
    }

    deinit {
        card?.disconnect(resetCard: channels.values.contains { $0.secure != nil })
    }

    /// What the prompt shows: reader, channel, current DF, secure channel level.
    var state: String {
        guard let card, let session = channels[channelNumber] else { return "" }
        var text = "\(card.reader) ch\(channelNumber) \(session.location.display)"
        if let secure = session.secure { text += " scp03 \(secure.level.hex)" }
        return text
    }

    /// The current channel, if a card is connected.
    var currentSession: ChannelSession? { channels[channelNumber] }

    /// The channel commands go to, connecting first when no card is.
    func session() throws -> ChannelSession {
        if card == nil { try connect(defaultReader) }
        guard let session = channels[channelNumber] else { throw ScriptFailure.notConnected }
        return session
    }

    func listReaders() throws {
        for reader in try pcscContext().readers() {
            recorder.say("[\(reader.index)] \(TerminalText.escape(reader.name))  \(reader.cardPresent ? "card  \(reader.atr.hexString)" : "empty")")
        }
    }

    func connect(_ reader: String?) throws {
        disconnect()
        let context = try pcscContext()
        let name = try context.resolveReader(reader ?? defaultReader)
        let card = try context.connect(reader: name)
        let wire = ISO7816Channel(link: card)
        wire.followsResponseChain = followsResponseChain
        atr = try card.atr()
        wire.onExchange = { [weak self] exchange in
            guard let self else { return }
            self.recorder.record(exchange, reader: self.card?.reader ?? "", atr: self.atr, protocolName: self.card?.protocolName ?? "")
        }
        self.card = card
        self.wire = wire
        resetChannels()
        recorder.say("connected to \(TerminalText.escape(name)), \(card.protocolName), ATR \(atr.hexString)")
    }

    func reset() throws {
        guard let card else { throw ScriptFailure.notConnected }
        try card.reset()
        atr = try card.atr()
        resetChannels()
        recorder.say("reset; ATR \(atr.hexString)")
    }

    func disconnect() {
        card?.disconnect(resetCard: channels.values.contains { $0.secure != nil })
        for session in channels.values { session.endSecureChannel() }
        channels = [:]
        card = nil
        wire = nil
    }

    /// Holds the card before a secure channel's handshake, so that no other
    /// PC/SC client's APDU or reset falls inside the session (PCSCCard.holdCard).
    func holdCard() throws {
        guard let card else { throw ScriptFailure.notConnected }
        let reader = TerminalText.escape(card.reader)
        try card.holdCard {
            FileHandle.standardError.write(Data("another application is using the card in \"\(reader)\" (a PC/SC transaction); waiting until it lets go\n".utf8))
        }
    }

    /// Lets other applications at the card again once no channel has a secure channel open.
    func releaseCardUnlessSecure() {
        guard !channels.values.contains(where: { $0.secure != nil }) else { return }
        card?.releaseCard()
    }

    /// A channel the card opened, made current.
    func add(_ session: ChannelSession) {
        channels[session.number] = session
        channelNumber = session.number
    }

    func remove(channel number: Int) {
        channels[number] = nil
        if channelNumber == number { channelNumber = 0 }
    }

    func use(channel number: Int) throws {
        guard channels[number] != nil else {
            throw ScriptFailure.invalidArgument("channel \(number) is not open (open: \(channels.keys.sorted().map(String.init).joined(separator: ", ")))")
        }
        channelNumber = number
    }

    private func pcscContext() throws -> PCSCContext {
        if let context { return context }
        let made = try PCSCContext()
        context = made
        return made
    }

    /// After a connect or reset only the basic channel is open, at the MF.
    private func resetChannels() {
        for session in channels.values { session.endSecureChannel() }
        channels = wire.map { [0: ChannelSession(number: 0, link: $0)] } ?? [:]
        channelNumber = 0
    }
}
