import APDU
import CardCrypto
import Foundation
import JSONOutput
import SecureChannel

/// The SCP03 side of a virtual card, as a profile describes it.
public struct SecureDomainProfile: Codable, Equatable, Sendable {
    /// Key version number, hex ("30").
    public var kvn: String
    public var enc: String
    public var mac: String
    public var dek: String
    /// The i parameter, hex: 70 = pseudo-random challenge, R-MAC, R-ENC, S8; 71 adds S16.
    public var i: String
    /// Key diversification data (10 bytes hex); zeros when absent.
    public var kdd: String?
    /// Last used sequence counter for pseudo-random challenges.
    public var sequenceCounter: UInt32?
    /// Failed EXTERNAL AUTHENTICATEs before the keys block (3).
    public var maxFailedAuthentications: Int?
    /// Departures from Amendment D by name, such as "counter-data-only"
    /// (the encryption counter moves only for commands with data).
    public var compatibility: [String]?
    /// "kdf3": enc, mac and dek are master keys and the card holds the keys
    /// diversified from them with its KDD (GlobalPlatformPro's KDF3), as a
    /// card vendor personalises a batch.
    public var diversify: String?

    public init(kvn: String, enc: String, mac: String, dek: String, i: String, kdd: String? = nil,
                sequenceCounter: UInt32? = nil, maxFailedAuthentications: Int? = nil, diversify: String? = nil) {
        self.diversify = diversify
        self.kvn = kvn
        self.enc = enc
        self.mac = mac
        self.dek = dek
        self.i = i
        self.kdd = kdd
        self.sequenceCounter = sequenceCounter
        self.maxFailedAuthentications = maxFailedAuthentications
    }

    /// The key file (dmboot-keys(5)) a host needs to talk to this card: the
    /// master keys, for `--diversify kdf3`, when the card's keys are diversified.
    public func keyFileJSON() throws(JSONOutputError) -> Data {
        let options = (try? Hex.decode(i))?.first ?? 0
        return try JSONOutput.document(KeyFile(kvn: kvn, enc: enc, mac: mac, dek: dek, mode: options & 0x01 != 0 ? "S16" : "S8",
                                               compatibility: compatibility?.isEmpty == false ? compatibility : nil))
    }

    /// The key file's members as dmboot-keys(5) names them; no compatibility
    /// member when the card needs none.
    private struct KeyFile: Encodable {
        let kvn, enc, mac, dek, mode: String
        let compatibility: [String]?
    }

    func endpointConfiguration() throws -> SCP03CardEndpoint.Configuration {
        let version = try Hex.decode(kvn)
        let options = try Hex.decode(i)
        guard version.count == 1, options.count == 1 else {
            throw ProfileError.invalid("scp03: kvn and i are one hex byte each")
        }
        let keys: SCP03Keys
        do {
            keys = try SCP03Keys(version: version[0], enc: SecretBytes(Hex.decode(enc)),
                                 mac: SecretBytes(Hex.decode(mac)), dek: SecretBytes(Hex.decode(dek)))
        } catch {
            throw ProfileError.invalid("scp03: \(error)")
        }
        guard let quirks = SCP03Compatibility(names: compatibility ?? []) else {
            throw ProfileError.invalid("scp03: compatibility takes \(SCP03Compatibility.names.keys.sorted().joined(separator: ", "))")
        }
        let diversification = try kdd.map(Hex.decode) ?? [UInt8](repeating: 0, count: 10)
        guard diversification.count == 10 else { throw ProfileError.invalid("scp03: kdd is 10 bytes") }
        let cardKeys: SCP03Keys
        switch diversify {
        case nil: cardKeys = keys
        case "kdf3"?: cardKeys = try KDF3.diversify(masters: keys, kdd: diversification)
        case let other?: throw ProfileError.invalid("scp03: diversify \(other) is not kdf3")
        }
        return SCP03CardEndpoint.Configuration(
            keys: cardKeys, options: SCP03Options(options[0]), keyDiversificationData: diversification,
            sequenceCounter: sequenceCounter ?? 0, maxFailedAuthentications: maxFailedAuthentications ?? 3,
            compatibility: quirks)
    }
}

/// Ways a test makes the virtual card misbehave on purpose.
public struct CardFaults: Sendable {
    /// Flip a bit of every R-MAC the card sends.
    public var corruptResponseMAC = false
    /// Flip a bit of the card cryptogram in INITIALIZE UPDATE.
    public var corruptCardCryptogram = false
    /// Answer 6300 to EXTERNAL AUTHENTICATE, as a card does whose keys the
    /// host has wrong in a way only the card can tell.
    public var refuseExternalAuthenticate = false
    /// Derive the pseudo-random card challenge from another AID than the
    /// selected one, as a card does whose security domain is not the
    /// application the host selected.
    public var challengeFromAnotherApplication = false
    /// SELECT by DF name answered 6A86 for these response forms (P2 b4-b3:
    /// 04 FCP, 00 FCI, 0C none), as a card does that knows only some of the
    /// forms ISO/IEC 7816-4 table 40 offers.
    public var refusedApplicationSelectForms: Set<UInt8> = []

    public init(corruptResponseMAC: Bool = false, corruptCardCryptogram: Bool = false,
                refuseExternalAuthenticate: Bool = false, challengeFromAnotherApplication: Bool = false) {
        self.corruptResponseMAC = corruptResponseMAC
        self.corruptCardCryptogram = corruptCardCryptogram
        self.refuseExternalAuthenticate = refuseExternalAuthenticate
        self.challengeFromAnotherApplication = challengeFromAnotherApplication
    }
}
