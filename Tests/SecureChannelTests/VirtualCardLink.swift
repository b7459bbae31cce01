import APDU
import CardSimulator
import CardTransport
import CardCrypto
import SecureChannel

/// An in-process link straight into a virtual card: the unit tests' fake
/// transport. The same card crosses pcscd in the integration tests.
final class VirtualCardLink: CardLink {
    let card: VirtualCard
    private(set) var sent: [[UInt8]] = []

    init(_ card: VirtualCard) { self.card = card }

    func transmit(raw command: [UInt8]) throws -> [UInt8] {
        sent.append(command)
        return card.process(command)
    }

    /// How many commands with this INS went to the card.
    func count(ins: UInt8) -> Int { sent.filter { $0.count > 1 && $0[1] == ins }.count }
}

enum TestCards {
    static let enc = "C3A32EC858A524663BFB823A1263C305"
    static let mac = "1A6053A4477B521752F271E1C46215C3"
    static let dek = "49C24BD25921EE72B13A1DC15E103A80"
    static let aid = Hex.encode(PKCS15AID.value)
    static let document = (0..<1500).map { UInt8(($0 * 13 + 7) % 256) }

    static func keys(version: UInt8 = 0x30, enc: String = enc, mac: String = mac) throws -> SCP03Keys {
        try SCP03Keys(version: version, enc: SecretBytes([UInt8](hex: enc)), mac: SecretBytes([UInt8](hex: mac)),
                      dek: SecretBytes([UInt8](hex: dek)))
    }

    static func profile(i: String = "70", maxFailures: Int = 3) -> CardProfile {
        CardProfile(
            name: "scp03 test card", atr: BuiltInProfiles.demoATR, maxResponseLength: 4096,
            scp03: SecureDomainProfile(kvn: "30", enc: enc, mac: mac, dek: dek, i: i, sequenceCounter: 0x41,
                                       maxFailedAuthentications: maxFailures),
            files: FileNode(fid: "3F00", children: [
                FileNode(fid: "5015", aid: aid, children: [
                    FileNode(fid: "5040", content: Hex.encode(document), readLevel: "33"),
                    FileNode(fid: "5041", content: "CAFE"),
                ]),
            ]))
    }

    /// A virtual card with the PKCS#15 application selected, and a channel to it.
    static func selected(_ profile: CardProfile = profile()) throws -> (VirtualCard, VirtualCardLink, ISO7816Channel) {
        let card = try VirtualCard(profile: profile)
        let link = VirtualCardLink(card)
        let channel = ISO7816Channel(link: link)
        _ = try channel.expectSuccess(ISOCommand.selectApplication(PKCS15AID.value, response: .none), "SELECT")
        return (card, link, channel)
    }
}
