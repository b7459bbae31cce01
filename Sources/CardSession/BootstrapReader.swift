import APDU
import CardTransport
import Foundation
import PKCS15
import SecureChannel

/// The card half of a provisioning, in the order the OMA DM CR's Appendix H
/// gives: select the PKCS#15 application in clear, open SCP03, then walk the
/// PKCS#15 structures and read the bootstrap over the protected channel.
public struct BootstrapReader: Sendable {
    public enum ExtendedLength: String, CaseIterable, Sendable {
        /// Use extended length when the ATR's card capabilities announce it
        /// and the card takes the extended SELECT of EF(DIR), its first APDU.
        case auto, on, off
    }

    /// How a read recovered from protected answers that did not fit (issue 24 item 2).
    public struct Recovery: Equatable, Sendable {
        /// New READ BINARY commands sent with a smaller Le.
        public var lengthRecoveries = 0
        /// The wire Le that READ BINARY settled on; `nil`: Le 00 all along.
        public var readLength: Int?
        /// Secure channel sessions opened again (at most one).
        public var sessionsReopened = 0
    }

    /// Which APDU length was chosen, and why, for `card info` and reports.
    public struct LengthChoice: Equatable, Sendable {
        public let extended: Bool
        public let reason: String
    }

    /// Where the SCP03 keys come from; `nil` reads in clear, only when the
    /// caller's policy allows it.
    public var keySource: (any SCP03KeySource)?
    public var mode: ChallengeMode = .s8
    public var level: SecurityLevel = .full
    /// How the card's SCP03 departs from Amendment D (from its key file).
    public var compatibility: SCP03Compatibility = []
    public var extendedLength: ExtendedLength = .auto
    /// Labels that also mark a DM bootstrap, for cards that deviate from the OID.
    public var extraDMLabels: [String] = []
    /// Whether to read the bootstrap EFs, or only the PKCS#15 directory.
    public var readsObjects = true
    /// Whether a pseudo-random card challenge that does not match ends the
    /// handshake (a strict policy) instead of being a warning.
    public var requiresChallengeMatch = false
    /// Told the card's ICCID as soon as EF.ICCID is read, before the
    /// handshake: a card refused later (wrong keys) is still logged by it.
    public var onICCID: (@Sendable (ICCID) -> Void)?

    public init(keySource: (any SCP03KeySource)?) {
        self.keySource = keySource
    }

    /// A reader with static keys in memory, or none.
    public init(keys: SCP03Keys?) {
        self.init(keySource: keys.map(StaticKeySource.init(keys:)))
    }

    public struct Result {
        public let contents: PKCS15Contents
        public let handshake: SCP03Host.Handshake?
        /// EF.ICCID, read in clear before anything else, when the card has it.
        public let iccid: ICCID?
        public let apduCount: Int
        public let lengthChoice: LengthChoice
        public var extendedLength: Bool { lengthChoice.extended }
        public let transmissionProtocol: TransmissionProtocol
        /// What it took to read a card stricter than expected.
        public let recovery: Recovery
        public let duration: Duration

        /// The identity this result is filed under: the ICCID when there is one.
        public var identity: CardIdentity {
            let serial = contents.tokenInfo.serialNumber
            return CardIdentity(iccid: iccid?.digits, pkcs15SerialNumber: serial.isEmpty ? nil : Hex.encode(serial))
        }

        /// What went right enough to go on but deserves a look.
        public var warnings: [String] {
            var list = handshake?.warnings ?? []
            let application = contents.application
            if let requested = application.requestedID {
                list.append("the card reports the application as \(Hex.encode(application.applicationID)) (FCI tag 84), not \(Hex.encode(requested)) as selected; the reported AID is used")
            }
            if recovery.lengthRecoveries > 0 {
                list.append("the card refused protected READ BINARY answers of Le 00; dmboot read with Le \(recovery.readLength.map { String(format: "%02X", $0) } ?? "?") after \(recovery.lengthRecoveries) new command(s)\(recovery.sessionsReopened > 0 ? " and opened the secure channel again once" : "")")
            }
            list += contents.unreadableObjects.map { "\($0.kind.rawValue.uppercased()) object \($0.label ?? "(no label)")\($0.place) was not read: \($0.reason)" }
            return list
        }
    }

    /// Selects the application in clear and decides the APDU length on the
    /// way. The ATR alone does not settle it: a reader in short-APDU exchange
    /// or an applet without extended length refuses what the card's ATR
    /// offers, and under SCP03 that refusal would cost the session. So when
    /// the ATR announces extended length, the selection (EF(DIR), then the
    /// application) goes extended (the probe costs no APDU when it is taken),
    /// and 6700, 6F00 or a transport error to its first SELECT means short
    /// APDUs, the selection done again short.
    func selectApplication(over channel: ISO7816Channel, atr: [UInt8]) throws -> (PKCS15Application, LengthChoice) {
        func selected(_ extended: Bool, _ reason: String) throws -> (PKCS15Application, LengthChoice) {
            (try PKCS15Application.select(over: channel), LengthChoice(extended: extended, reason: reason))
        }
        switch (extendedLength, channel.transmissionProtocol) {
        case (_, .t0): return try selected(false, "T=0 carries no extended length")
        case (.on, _): return try selected(true, "--extended-length on")
        case (.off, _): return try selected(false, "--extended-length off")
        case (.auto, _):
            guard (try? ATR(bytes: atr))?.supportsExtendedLength == true else {
                return try selected(false, "the ATR does not announce extended length")
            }
        }
        channel.forceExtendedLength = true
        let refusal: String
        do {
            defer { channel.forceExtendedLength = false }
            return try selected(true, "the ATR announces it and the card took the extended SELECT")
        } catch let error as CardStatusError where [StatusWord(0x6700), StatusWord(0x6F00)].contains(error.status) {
            refusal = "\(error.status)"
        } catch let error as PCSCError {
            refusal = "\(error)"
        } catch let error as TransportError {
            refusal = "\(error)"
        }
        return try selected(false, "the ATR announces it but the extended SELECT was refused (\(refusal))")
    }

    public func read(over channel: ISO7816Channel, atr: [UInt8]) throws -> Result {
        let started = ContinuousClock.now
        let firstCount = channel.exchangeCount
        let iccid = try ICCID.read(over: channel)
        if let iccid { onICCID?(iccid) }
        let (application, lengthChoice) = try selectApplication(over: channel, atr: atr)
        let extended = lengthChoice.extended
        var transport: CardChannel = channel
        var handshake: SCP03Host.Handshake?
        var chunk = extended ? 65_536 : 256
        var secure: RecoveringSecureChannel?
        if let keySource {
            var host = SCP03Host(keySource: keySource, level: level, mode: mode, applicationID: application.applicationID,
                                 compatibility: compatibility, cardIdentity: CardIdentity(iccid: iccid?.digits))
            host.requiresChallengeMatch = requiresChallengeMatch
            let open = {
                let opened = try host.open(over: channel)
                opened.allowsExtendedLength = extended
                return opened
            }
            let opened = try open()
            handshake = opened.handshake
            chunk = opened.maxResponseData
            let recovering = RecoveringSecureChannel(opened) {
                _ = try PKCS15Application.select(over: channel)
                return try open()
            }
            transport = recovering
            secure = recovering
        }
        defer { secure?.close() }
        var navigator = PKCS15Navigator(application: application)
        navigator.extraDMLabels = extraDMLabels
        let contents: PKCS15Contents
        do {
            contents = try navigator.read(over: transport, chunkLength: chunk, readingObjects: readsObjects)
        } catch let refused as CardStatusError where refused.status == StatusWord(0x6982) && handshake?.pseudoRandomChallenge == .mismatch
                    && level.hasCommandDecryption && secure?.current.protection.counter == 1 && secure?.reopened == 0 {
            // The MAC key is right (EXTERNAL AUTHENTICATE was taken); a card
            // that cannot decrypt the first command with data refuses it.
            throw SecureChannelError.encryptionKeyWrong(operation: refused.operation)
        }
        return Result(contents: contents, handshake: handshake, iccid: iccid, apduCount: channel.exchangeCount - firstCount,
                      lengthChoice: lengthChoice, transmissionProtocol: channel.transmissionProtocol,
                      recovery: secure.map { Recovery(lengthRecoveries: $0.lengthRecoveries, readLength: $0.current.readLength,
                                                      sessionsReopened: $0.reopened) } ?? Recovery(),
                      duration: ContinuousClock.now - started)
    }
}
