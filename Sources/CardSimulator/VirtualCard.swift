import APDU
import SecureChannel

/// An ISO/IEC 7816-4 card in software: it takes command bytes and returns
/// response bytes, exactly what a reader would carry. It knows nothing of
/// sockets; `VPCDConnection` puts it behind pcscd.
public final class VirtualCard {
    public let profile: CardProfile
    public let atr: [UInt8]
    private let root: CardFile
    /// Per logical channel: the current DF and EF.
    private var channels: [Int: ChannelState] = [:]
    /// Response bytes a T=0-style card holds for GET RESPONSE.
    private var pendingResponse: [UInt8] = []
    /// What the card has seen, readable from any thread while the card is
    /// served on its own (`VirtualReaderSlot`).
    public let counters = CardCounters()
    /// Commands processed in this card's life; tests use it to pull the card at a given point.
    public var commandCount: Int { counters.commands }
    /// EXTERNAL AUTHENTICATE commands received in this card's life: a station
    /// must never send a second one to a card that refused the first.
    public var externalAuthenticateCount: Int { counters.externalAuthenticates }
    /// Called before each command; returning false drops the connection (a pulled card).
    public var shouldContinue: ((Int) -> Bool)?
    /// Misbehaviour a test asks for.
    public var faults = CardFaults()
    /// The card's SCP03 security domain, if the profile gives it one: its
    /// session on the basic channel.
    public let securityDomain: SCP03CardEndpoint?
    /// Sessions on the other logical channels: GlobalPlatform lets each
    /// channel hold its own secure channel session with the same keys.
    private var channelDomains: [Int: SCP03CardEndpoint] = [:]
    /// Whether the ATR offers T=0 alone, so pcscd speaks T=0 to the card.
    private let speaksT0Only: Bool
    /// The most plain response data the command being processed may carry:
    /// under secure messaging Le is 00 and the session's room decides.
    private var responseRoom: Int?
    /// The card's PINs and what has been verified since the last reset.
    let pins: CardPINs

    struct ChannelState {
        var currentDF: CardFile
        var currentEF: CardFile?
        /// The issuer security domain is the selected application: GET
        /// STATUS goes to it, any other application would not know it.
        var securityDomainSelected = false
    }

    /// The ISD's AID, GlobalPlatform's default (GlobalPlatformPro's `GPData.defaultISDBytes`).
    static let issuerSecurityDomainAID: [UInt8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]

    public init(profile: CardProfile) throws {
        try profile.validate()
        self.profile = profile
        atr = try Hex.decode(profile.atr)
        speaksT0Only = (try? ATR(bytes: atr))?.protocols == [0]
        root = try CardFile(node: profile.fileSystem(), parent: nil)
        pins = try CardPINs(profile.pins ?? [])
        securityDomain = try profile.scp03.map { SCP03CardEndpoint(configuration: try $0.endpointConfiguration()) }
        powerOn()
    }

    /// Cold or warm reset: the MF is selected on the basic channel, others are closed.
    public func powerOn() {
        channels = [0: ChannelState(currentDF: root)]
        pendingResponse = []
        pins.reset()
        securityDomain?.endSession()
        for domain in channelDomains.values { domain.endSession() }
        channelDomains = [:]
    }

    /// The security domain endpoint that serves `channel`.
    private func domain(for channel: Int) -> SCP03CardEndpoint? {
        guard let securityDomain else { return nil }
        if channel == 0 { return securityDomain }
        if let domain = channelDomains[channel] { return domain }
        let made = SCP03CardEndpoint(configuration: securityDomain.configuration)
        channelDomains[channel] = made
        return made
    }

    /// The session's level on `channel`, if a secure channel is open there.
    func securityLevel(on channel: Int) -> SecurityLevel? {
        channel == 0 ? securityDomain?.session?.level : channelDomains[channel]?.session?.level
    }

    public func process(_ bytes: [UInt8]) -> [UInt8] {
        counters.countCommand()
        let command: CommandAPDU
        do {
            command = try CommandAPDU(bytes: bytes)
        } catch {
            return Self.status(0x6700)
        }
        let isExtended = bytes.count > 5 && bytes[4] == 0x00
        if isExtended && !profile.extendedLength { return Self.status(0x6700) }
        // T=0 carries one length byte, P3 (ISO/IEC 7816-3 12.1): a case 4
        // command arrives without Le, and a trailing Le is a length error.
        if speaksT0Only && command.isoCase == 4 { return Self.status(0x6700) }
        if command.ins == 0xC0 && profile.responseChaining == .t0 {
            return getResponse(command)
        }
        pendingResponse = []
        let response = secureDispatch(command, extendedLength: isExtended)
        return deliver(response, expected: command.expectedLength)
    }

    /// GlobalPlatform commands go to the security domain; inside a session,
    /// every other command is opened before and protected after processing.
    /// The C-MAC covers the class byte with the logical-channel bits zero
    /// (GlobalPlatform; ETSI TS 102 221 10.1.1), so the card checks it that way.
    private func secureDispatch(_ command: CommandAPDU, extendedLength: Bool) -> ResponseAPDU {
        // MANAGE CHANNEL belongs to the card's runtime, not to an application
        // or its security domain: the Java Card RE takes it only with CLA
        // 000000cc or 0100dddd and never forwards it (Java Card 3 Runtime
        // Environment Specification 4.5.1), so no session sees it, a plain
        // one leaves the session alone, and a wrapped one is refused as
        // "secure messaging not supported" (ISO/IEC 7816-4 table 6, 6882).
        if command.ins == 0x70 && command.cla & 0x80 == 0 {
            return LogicalChannel.hasSecureMessaging(cla: command.cla) ? Self.error(0x6882) : dispatch(command)
        }
        let channel = LogicalChannel.decode(cla: command.cla).number
        let sessionOpen = securityLevel(on: channel) != nil
        guard command.cla & 0x80 != 0 || sessionOpen, let domain = domain(for: channel) else {
            return dispatch(command)
        }
        var basic = command
        basic.cla = LogicalChannel.basic.encode(cla: command.cla, secureMessaging: LogicalChannel.hasSecureMessaging(cla: command.cla))
        if command.cla & 0x80 != 0 && command.ins == 0x50 {
            let state = channels[channel]
            let selected = state?.securityDomainSelected == true ? Self.issuerSecurityDomainAID : state?.currentDF.applicationID ?? []
            let aid = faults.challengeFromAnotherApplication ? selected + [0x01] : selected
            var answer = domain.initializeUpdate(basic, applicationID: aid)
            if faults.corruptCardCryptogram && answer.status == .success {
                answer.data[13 + domain.configuration.options.challengeMode.rawValue] ^= 0x01
            }
            return answer
        }
        if command.cla & 0x80 != 0 && command.ins == 0x82 {
            counters.countExternalAuthenticate()
            if faults.refuseExternalAuthenticate {
                domain.endSession()
                return Self.error(0x6300)
            }
            return domain.externalAuthenticate(basic, extendedLength: extendedLength)
        }
        guard let session = domain.session else { return dispatch(command) }
        // Selecting an application in clear deselects the security domain's
        // session, as a card's runtime does before any application sees it.
        if command.ins == 0xA4 && command.p1 == 0x04 && !LogicalChannel.hasSecureMessaging(cla: command.cla) {
            domain.endSession()
            return dispatch(command)
        }
        if session.level.hasCommandMAC && !LogicalChannel.hasSecureMessaging(cla: command.cla) {
            domain.endSession()
            return Self.error(0x6982)
        }
        var plain: CommandAPDU
        do {
            plain = try session.unwrapCommand(basic, extendedLength: extendedLength)
        } catch {
            domain.endSession()
            return Self.error(0x6982)
        }
        let readsWireLe = profile.protectedReadLength != .fitted && plain.ins == 0xB0 && !extendedLength
        if [nil, 256, CommandAPDU.maxExpectedLength].contains(plain.expectedLength) && !readsWireLe {
            responseRoom = session.maxResponseData(extendedLength: extendedLength)
        }
        plain.cla = LogicalChannel.decode(cla: command.cla).encode(cla: plain.cla)
        let response = dispatch(plain, secured: true)
        responseRoom = nil
        let room = session.maxResponseData(extendedLength: false)
        if readsWireLe && response.data.count > room {
            if profile.protectedReadLength == .wrongLength { return Self.error(0x6C00 | UInt16(room)) }
            domain.endSession()
            return Self.error(0x6700)
        }
        guard var wrapped = try? session.wrapResponse(response) else {
            domain.endSession()
            return Self.error(0x6F00)
        }
        if faults.corruptResponseMAC && session.level.hasResponseMAC && !wrapped.data.isEmpty {
            wrapped.data[wrapped.data.count - 1] ^= 0x01
        }
        // GlobalPlatform: selecting an application ends the session.
        if plain.ins == 0xA4 && plain.p1 == 0x04 { domain.endSession() }
        return wrapped
    }

    private func deliver(_ response: ResponseAPDU, expected: Int?) -> [UInt8] {
        guard profile.responseChaining == .t0, !response.data.isEmpty, response.status == .success else {
            return response.bytes
        }
        pendingResponse = response.data
        return Self.status(0x6100 | UInt16(min(pendingResponse.count, 256) & 0xFF))
    }

    private func getResponse(_ command: CommandAPDU) -> [UInt8] {
        guard !pendingResponse.isEmpty else { return Self.status(0x6985) }
        let wanted = command.expectedLength ?? 256
        let chunk = Array(pendingResponse.prefix(wanted))
        pendingResponse.removeFirst(chunk.count)
        if pendingResponse.isEmpty { return chunk + [0x90, 0x00] }
        return chunk + [0x61, UInt8(min(pendingResponse.count, 256) & 0xFF)]
    }

    private func dispatch(_ command: CommandAPDU, secured: Bool = false) -> ResponseAPDU {
        let channel = LogicalChannel.decode(cla: command.cla).number
        if command.cla == 0xFF { return Self.error(0x6E00) }
        if command.ins == 0x70 { return manageChannel(command, from: channel) }
        guard var state = channels[channel] else { return Self.error(0x6881) }
        defer { channels[channel] = state }
        switch command.ins {
        case 0xA4: return select(command, state: &state)
        case 0xB0, 0xB1: return readBinary(command, state: &state)
        case 0xB2: return readRecord(command, state: &state)
        case 0xD6: return updateBinary(command, file: state.currentEF)
        case 0x20, 0x24, 0x2C: return pins.process(command)
        case 0xCA where securityDomain != nil: return getData(command)
        case SCP03PutKey.instruction where securityDomain != nil:
            return secured && state.securityDomainSelected ? putKey(command, channel: channel) : Self.error(0x6982)
        case 0xF2 where securityDomain != nil:
            return state.securityDomainSelected ? getStatus(command, secured: secured) : Self.error(0x6D00)
        default: return Self.error(0x6D00)
        }
    }

    /// PUT KEY through the channel's session; the new key set replaces the
    /// old one on every channel's endpoint, as the card has one key store.
    private func putKey(_ command: CommandAPDU, channel: Int) -> ResponseAPDU {
        guard let endpoint = domain(for: channel) else { return Self.error(0x6D00) }
        let (answer, keys) = endpoint.putKey(command)
        if let keys {
            securityDomain?.adopt(keys)
            for other in channelDomains.values { other.adopt(keys) }
        }
        return answer
    }

    // MARK: Security domain data (GlobalPlatform Card Specification v2.3 sections 11.3 and 11.4)

    /// GET DATA: the Key Information Template (00E0) and the CPLC (9F7F);
    /// both readable without a secure channel, as GlobalPlatformPro reads them.
    private func getData(_ command: CommandAPDU) -> ResponseAPDU {
        guard let domain = securityDomain else { return Self.error(0x6A88) }
        switch (command.p1, command.p2) {
        case (0x00, 0xE0):
            let version = domain.configuration.keys.version
            let keys = (1...3).flatMap { id -> [UInt8] in [0xC0, 0x04, UInt8(id), version, 0x88, 0x10] }
            return ResponseAPDU(data: [0xE0, UInt8(keys.count)] + keys, status: .success)
        case (0x9F, 0x7F):
            return ResponseAPDU(data: [0x9F, 0x7F, UInt8(Self.productionLifeCycle.count)] + Self.productionLifeCycle,
                                status: .success)
        default:
            return Self.error(0x6A88)
        }
    }

    /// The simulator's CPLC: fabricator, IC type, OS id and release data;
    /// dates in YDDD form; serials zero (a virtual card has no IC).
    static let productionLifeCycle: [UInt8] = [0x44, 0x4D, 0x56, 0x43, 0x00, 0x01, 0x51, 0x00, 0x00, 0x01, 0x51, 0x00]
        + [UInt8](repeating: 0, count: 30)

    /// GET STATUS in the tagged format (P2 02): the ISD (P1 80) and the
    /// applications (P1 40). It needs an open secure channel, as a security
    /// domain demands for its registry.
    private func getStatus(_ command: CommandAPDU, secured: Bool) -> ResponseAPDU {
        guard secured else { return Self.error(0x6982) }
        guard command.p2 & 0xFE == 0x02 else { return Self.error(0x6A86) }
        guard command.data.count >= 2, command.data[0] == 0x4F else { return Self.error(0x6A80) }
        func entry(_ aid: [UInt8], lifeCycle: UInt8, privileges: [UInt8]) -> [UInt8] {
            let body = [0x4F, UInt8(aid.count)] + aid + [0x9F, 0x70, 0x01, lifeCycle, 0xC5, UInt8(privileges.count)] + privileges
            return [0xE3, UInt8(body.count)] + body
        }
        switch command.p1 {
        case 0x80:
            return ResponseAPDU(data: entry(Self.issuerSecurityDomainAID, lifeCycle: 0x0F,
                                            privileges: [0x9E, 0xFE, 0x80]), status: .success)
        case 0x40:
            var applications: [UInt8] = []
            var queue = [root]
            while let file = queue.popLast() {
                if let aid = file.aid, file.selectableByName { applications += entry(aid, lifeCycle: 0x07, privileges: [0x00, 0x00, 0x00]) }
                queue += file.children.filter(\.isDF)
            }
            return applications.isEmpty ? Self.error(0x6A88) : ResponseAPDU(data: applications, status: .success)
        default:
            return Self.error(0x6A88)
        }
    }

    // MARK: MANAGE CHANNEL

    private func manageChannel(_ command: CommandAPDU, from channel: Int) -> ResponseAPDU {
        switch command.p1 {
        case 0x00:
            guard let free = (1...19).first(where: { channels[$0] == nil }) else { return Self.error(0x6A81) }
            // ISO/IEC 7816-4 7.1.2: opened from the basic channel, the new one starts at the MF.
            let origin = channel == 0 ? ChannelState(currentDF: root) : channels[channel] ?? ChannelState(currentDF: root)
            channels[free] = ChannelState(currentDF: origin.currentDF)
            return ResponseAPDU(data: [UInt8(free)], status: .success)
        case 0x80:
            let target = Int(command.p2)
            guard target != 0, channels[target] != nil else { return Self.error(0x6A86) }
            channels[target] = nil
            channelDomains[target]?.endSession()
            channelDomains[target] = nil
            return ResponseAPDU(status: .success)
        default:
            return Self.error(0x6A86)
        }
    }

    // MARK: SELECT

    private func select(_ command: CommandAPDU, state: inout ChannelState) -> ResponseAPDU {
        if profile.strictSelectP2 && command.p2 & 0x0C == 0x00 { return Self.error(0x6A86) }
        if command.p1 == 0x04 && faults.refusedApplicationSelectForms.contains(command.p2 & 0x0C) { return Self.error(0x6A86) }
        if profile.refusesFCPForFiles && command.p1 != 0x04 && command.p2 & 0x0C == 0x04 { return Self.error(0x6A86) }
        let target: CardFile?
        switch command.p1 {
        case 0x00:
            guard command.data.count == 2 else {
                if command.data.isEmpty { target = root; break }
                return Self.error(0x6A87)
            }
            target = resolve(fid: UInt16(command.data[0]) << 8 | UInt16(command.data[1]), from: state.currentDF)
        case 0x03:
            target = state.currentDF.parent
        case 0x04:
            // No AID, or the ISD's own, selects the ISD, as a GlobalPlatform card does.
            if securityDomain != nil && (command.data.isEmpty || command.data == Self.issuerSecurityDomainAID) {
                return selectSecurityDomain(command, state: &state)
            }
            target = root.findApplication(command.data)
        case 0x08, 0x09:
            guard command.data.count >= 2, command.data.count % 2 == 0 else { return Self.error(0x6A87) }
            var node: CardFile? = command.p1 == 0x08 ? root : state.currentDF
            var ids = stride(from: 0, to: command.data.count, by: 2).map {
                UInt16(command.data[$0]) << 8 | UInt16(command.data[$0 + 1])
            }
            if command.p1 == 0x08 && ids.first == 0x3F00 { ids.removeFirst() }
            for id in ids {
                node = node?.child(id)
            }
            target = node
        default:
            return Self.error(0x6A86)
        }
        guard let file = target else { return Self.error(0x6A82) }
        state.securityDomainSelected = false
        if file.isDF {
            state.currentDF = file
            state.currentEF = nil
        } else {
            state.currentDF = file.parent ?? root
            state.currentEF = file
        }
        switch command.p2 & 0x0C {
        case 0x00:
            return ResponseAPDU(data: file.controlParameters(template: 0x6F, withFileID: !profile.omitsFileIDInFCI),
                                status: .success)
        case 0x04:
            return ResponseAPDU(data: file.controlParameters(template: 0x62, withFileID: !profile.omitsFileIDInFCI),
                                status: .success)
        case 0x0C: return ResponseAPDU(status: .success)
        default: return Self.error(0x6A86)
        }
    }

    /// The ISD's FCI: its AID in tag 84 is how a host learns it
    /// (GlobalPlatformPro's `GPSession.discover` reads it there).
    private func selectSecurityDomain(_ command: CommandAPDU, state: inout ChannelState) -> ResponseAPDU {
        state.securityDomainSelected = true
        let name = [0x84, UInt8(Self.issuerSecurityDomainAID.count)] + Self.issuerSecurityDomainAID
        switch command.p2 & 0x0C {
        case 0x00: return ResponseAPDU(data: [0x6F, UInt8(name.count)] + name, status: .success)
        case 0x04: return ResponseAPDU(data: [0x62, UInt8(name.count)] + name, status: .success)
        default: return ResponseAPDU(status: .success)
        }
    }

    /// ISO 7816-4 7.1.1: a file id names the MF, a child of the current DF,
    /// the current DF itself, its parent, or a sibling.
    private func resolve(fid: UInt16, from df: CardFile) -> CardFile? {
        if fid == 0x3F00 { return root }
        if let child = df.child(fid) { return child }
        if df.fid == fid { return df }
        if let parent = df.parent {
            if parent.fid == fid { return parent }
            if let sibling = parent.child(fid) { return sibling }
        }
        return nil
    }

    // MARK: READ BINARY / READ RECORD

    private func readBinary(_ command: CommandAPDU, state: inout ChannelState) -> ResponseAPDU {
        var file = state.currentEF
        var offset: Int
        var wrapInDO53 = false
        if command.ins == 0xB1 {
            // Odd INS: P1-P2 file id (0000 = current EF), offset in DO 54.
            let fid = UInt16(command.p1) << 8 | UInt16(command.p2)
            if fid != 0 {
                file = resolve(fid: fid, from: state.currentDF)
                if let found = file, !found.isDF { state.currentEF = found }
            }
            guard command.data.count >= 3, command.data[0] == 0x54, Int(command.data[1]) == command.data.count - 2 else {
                return Self.error(0x6A80)
            }
            offset = command.data[2...].reduce(0) { $0 << 8 | Int($1) }
            wrapInDO53 = true
        } else if command.p1 & 0x80 != 0 {
            guard let found = state.currentDF.child(sfi: Int(command.p1 & 0x1F)) else { return Self.error(0x6A82) }
            file = found
            state.currentEF = found
            offset = Int(command.p2)
        } else {
            offset = Int(command.p1) << 8 | Int(command.p2)
        }
        guard let ef = file, !ef.isDF else { return Self.error(0x6986) }
        guard let content = ef.content else { return Self.error(0x6981) }
        if ef.readLevel != 0 {
            let level = securityLevel(on: LogicalChannel.decode(cla: command.cla).number)?.rawValue ?? 0
            guard level & ef.readLevel == ef.readLevel else { return Self.error(0x6982) }
        }
        guard offset < content.count || offset == 0 else { return Self.error(0x6B00) }
        let available = content.count - offset
        let asked = command.expectedLength ?? 256
        let isWildcard = asked == 256 || asked == CommandAPDU.maxExpectedLength
        let limit = min(asked, profile.maxResponseLength, responseRoom ?? Int.max)
        let chunk = Array(content[offset..<(offset + min(available, limit))])
        // Fewer bytes than asked because of the card's own limit, not the
        // end of the file: 9000, as ISO/IEC 7816-4 5.1 lets a card answer.
        if chunk.count < asked && !isWildcard && chunk.count == available {
            if profile.shortRead == .wrongLength && asked <= 256 {
                return Self.error(0x6C00 | UInt16(chunk.count & 0xFF))
            }
            let data = wrapInDO53 ? Self.do53(chunk) : chunk
            return ResponseAPDU(data: data, status: StatusWord(0x6282))
        }
        return ResponseAPDU(data: wrapInDO53 ? Self.do53(chunk) : chunk, status: .success)
    }

    private static func do53(_ bytes: [UInt8]) -> [UInt8] {
        let length: [UInt8]
        switch bytes.count {
        case ..<0x80: length = [UInt8(bytes.count)]
        case ..<0x100: length = [0x81, UInt8(bytes.count)]
        default: length = [0x82, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)]
        }
        return [0x53] + length + bytes
    }

    private func readRecord(_ command: CommandAPDU, state: inout ChannelState) -> ResponseAPDU {
        var file = state.currentEF
        let sfi = Int(command.p2 >> 3)
        if sfi != 0 {
            file = state.currentDF.child(sfi: sfi)
            if let found = file { state.currentEF = found }
        }
        guard let ef = file else { return Self.error(0x6986) }
        guard let records = ef.records else { return Self.error(0x6981) }
        guard command.p2 & 0x07 == 0x04 else { return Self.error(0x6A86) }
        let number = Int(command.p1)
        guard number >= 1, number <= records.count else { return Self.error(0x6A83) }
        let record = records[number - 1]
        if let asked = command.expectedLength, asked != 256, asked < record.count,
           profile.shortRead == .wrongLength {
            return Self.error(0x6C00 | UInt16(record.count & 0xFF))
        }
        return ResponseAPDU(data: record, status: .success)
    }

    static func error(_ sw: UInt16) -> ResponseAPDU { ResponseAPDU(status: StatusWord(sw)) }
    static func status(_ sw: UInt16) -> [UInt8] { [UInt8(sw >> 8), UInt8(sw & 0xFF)] }
}
