import APDU
import CardTransport

/// Finds and selects the issuer security domain before GET STATUS, which
/// only the ISD answers: after `select` of another application that
/// application would get the command.
///
/// The order is GlobalPlatformPro's (`GPSession.discover` and `connect` in
/// library/src/main/java/pro/javacard/gp/GPSession.java): first SELECT by
/// name with no AID, P2 00 and Le 00, which a GlobalPlatform card answers
/// with the ISD, taking its AID from tag 84 of the FCI template 6F; then the
/// default ISD AID
/// A000000151000000 (`GPData.defaultISDBytes`, which GlobalPlatformPro tries
/// when a UICC refuses the empty SELECT with 6A87). dmboot also tries the
/// default on any other refusal, and then A000000003000000, the ISD AID of
/// Open Platform 2.0.1 and GlobalPlatform 2.1 cards. As GlobalPlatformPro
/// does, the AID the card reports in its FCI wins over the one asked for.
enum IssuerSecurityDomain {
    static let defaultAIDs: [[UInt8]] = [
        [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00],
        [0xA0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00],
    ]

    /// The shell's name for the ISD in the prompt, after `status` selected it.
    static let name = "ISD"

    /// Selects the ISD over `channel` and returns its AID; every SELECT and
    /// answer goes to `report`, so the transcript shows how it was found.
    static func select(over channel: CardChannel, report: (CommandAPDU, ResponseAPDU) -> Void) throws -> [UInt8] {
        var refusal = StatusWord(0x6A82)
        for aid in [[]] + defaultAIDs {
            // The FCI first, as GlobalPlatformPro asks; a UICC refuses P2 00 with
            // 6A86 (ETSI TS 102 221 table 11.2), so then the FCP, then no data.
            let response = try channel.selectApplication(aid, order: [.fci, .fcp, .none], report: report)
            // 6283: the ISD is locked; GlobalPlatformPro selects it all the same.
            guard response.status == .success || response.status == StatusWord(0x6283) else {
                refusal = response.status
                continue
            }
            let reported = (try? FileControlParameters(bytes: response.data))?.dfName ?? []
            if !reported.isEmpty { return reported }
            if !aid.isEmpty { return aid }
            // Something answered the empty SELECT without naming itself: maybe a default-selected
            // application rather than the ISD, so the ISD is looked for by its default AIDs.
        }
        throw CardStatusError("SELECT of the issuer security domain (no AID, then \(defaultAIDs.map { Hex.encode($0) }.joined(separator: ", ")))",
                              refusal)
    }
}
