import APDU
import PKCS15

/// Field card behaviours the demo card does not show, one card each, so that
/// every one of them is provisioned end to end (issue 14). Each is the demo
/// card with one departure; the sources that make the behaviour legitimate
/// are named beside it.
public enum Personality: String, CaseIterable, Sendable {
    /// T=0 only in the ATR: every response through 61xx and GET RESPONSE, a
    /// case 4 command with Le refused, no extended length (ISO/IEC 7816-3 12).
    case t0 = "t0"
    /// A UICC's SELECT: P2 00 answered 6A86 (ETSI TS 102 221 table 11.2), an
    /// FCP without tag 83 and absolute 3F00 paths in ODF and DODF.
    case strictP2 = "strict-p2"
    /// DER that ends in 00: TokenInfo with empty TokenFlags (03 01 00) and
    /// the DODF in EF 4400, so the ODF's last byte is 00 too.
    case derEndingIn00 = "der-00"
    /// EF(DIR) as a transparent EF, and no SELECT by AID (OpenSC dir.c).
    case transparentDirectory = "transparent-dir"
    /// ODF and TokenInfo moved to 4401/4402 and named in EF(DIR)'s DDO (73),
    /// PKCS#15 v1.1 5.4.2; the application is reachable through EF(DIR) only.
    case ddoPaths = "ddo-paths"
    /// The application's AID is longer than the standard PKCS#15 AID, which
    /// selects it right-truncated (ISO/IEC 7816-4 7.1.1); the FCP's tag 84
    /// gives the full AID, which the pseudo-random challenge uses.
    case truncatedAID = "truncated-aid"
    /// The security domain advances the encryption counter only for commands
    /// with data (GlobalPlatformPro's buggy-counter workaround).
    case counterQuirk = "counter-quirk"
    /// No serial in TokenInfo; the card is known by its EF.ICCID.
    case iccidOnly = "iccid-only"
    /// No secure messaging needed to read the objects: for independent
    /// readers such as OpenSC pkcs15-tool.
    case plain = "plain"
    /// Plain reads, and every data object an opaqueDO (the DM bootstrap is
    /// then found by its label, --dm-label), plus a padded XML CP document.
    /// OpenSC 0.23 decodes only opaqueDO entries in a DODF (pkcs15-data.c,
    /// c_asn1_data is a SEQUENCE), so this is the image pkcs15-tool can list.
    case opaqueObjects = "opaque-objects"
    // Cards stricter than dmboot expected (issue 24, the read path).
    /// At most 200 bytes to one READ BINARY, with 9000: fewer than Ne is not
    /// the end of the file (ISO/IEC 7816-4 5.1).
    case shortReads = "short-reads"
    /// SELECT of an EF or EF(DIR) with P2 04 (FCP) answered 6A86, FCI and
    /// no data accepted; the application is reached through EF(DIR).
    case fcpRefused = "fcp-refused"
    /// The ATR announces extended length (card capabilities, third table
    /// b7) but the reader or applet answers 6700 to every extended APDU, as
    /// CCID readers in short-APDU exchange do.
    case noExtendedLength = "no-extended"
    /// Extended length announced and taken: the whole EF in one protected READ BINARY.
    case extendedLength = "extended"
    /// The applet reads as many plain bytes as the wire Le says (Le 00: 256,
    /// Java Card `setOutgoing()`), cannot protect 256 in a short answer and
    /// says 6700, and the security domain ends the session.
    case wireLe = "wire-le"
    /// The same applet answering 6CEF: the Le that fits; the session stays.
    case wrongLengthUnderSM = "sm-6cxx"
    /// Two PKCS#15 applications in EF(DIR): the first (an ISO/IEC 7816-15
    /// AID) is no longer on the card, the second is the demo application;
    /// neither is selectable by the standard AID.
    case twoApplications = "two-apps"
    /// ODF and TokenInfo at 4401/4402, named in EF(DIR)'s DDO (73), and the
    /// application selectable by its AID as well: no 5031 on the card, so
    /// the DDO must win over the default paths (PKCS#15 v1.1 5.4).
    case ddoPathsByAID = "ddo-aid"

    /// The ATR of the T=0 personality: T=0 alone (no TD1), historical bytes "dmboot-t0car".
    public static let t0ATR = "3B0C646D626F6F742D7430636172"

    /// T=1, historical bytes 80 73 00 00 40: card capabilities (ISO/IEC
    /// 7816-4 8.1.1.2.7) whose third byte sets b7, extended Lc and Le.
    public static let extendedLengthATR = "3B8501807300004037"

    /// An EF(DIR) application template (61) for an ISO/IEC 7816-15 AID
    /// (E828BD080F prefix) the card does not hold, labelled "retired".
    static let absentApplicationRecord = "61124F07E828BD080F0102500772657469726564"

    /// A small OMA CP document in XML (WAP-183 ProvCont), padded with FF on the card.
    public static let clientProvisioningXML = """
        <?xml version="1.0"?><wap-provisioningdoc version="1.1"><characteristic type="APPLICATION">\
        <parm name="APPID" value="w7"/><parm name="NAME" value="demo"/></characteristic></wap-provisioningdoc>
        """

    public var profile: CardProfile {
        var card = BuiltInProfiles.demo
        card.name = "dmboot \(rawValue) personality"
        guard var image = card.pkcs15 else { return card }
        switch self {
        case .t0:
            card.atr = Self.t0ATR
            card.responseChaining = .t0
            card.extendedLength = false
        case .strictP2:
            card.strictSelectP2 = true
            card.omitsFileIDInFCI = true
            image.absolutePaths = true
        case .derEndingIn00:
            image.tokenFlags = "00"
            image.dodfFID = "4400"
        case .transparentDirectory:
            image.transparentDirectory = true
            image.selectableByAID = false
        case .ddoPaths:
            image.odfFID = "4401"
            image.tokenInfoFID = "4402"
            image.pathsInDDO = true
            image.selectableByAID = false
        case .truncatedAID:
            image.aid = Hex.encode(PKCS15Application.standardAID) + "0201"
        case .counterQuirk:
            card.scp03?.compatibility = ["counter-data-only"]
        case .iccidOnly:
            image.serialNumber = ""
        case .plain:
            image.readLevel = nil
        case .opaqueObjects:
            image.readLevel = nil
            image.objects = image.objects.map { object in
                var opaque = object
                opaque.kind = "opaque"
                return opaque
            } + [
                .init(kind: "cp", label: "Bootstrap", fid: "6002", content: Hex.encode(Array(Self.clientProvisioningXML.utf8)),
                      size: 512),
            ]
        case .shortReads:
            card.maxResponseLength = 200
        case .fcpRefused:
            card.refusesFCPForFiles = true
            image.selectableByAID = false
        case .noExtendedLength:
            card.atr = Self.extendedLengthATR
            card.extendedLength = false
        case .extendedLength:
            card.atr = Self.extendedLengthATR
        case .wireLe:
            card.protectedReadLength = .wireLe
        case .wrongLengthUnderSM:
            card.protectedReadLength = .wrongLength
        case .twoApplications:
            image.selectableByAID = false
            card.files.children = (card.files.children ?? []) + [FileNode(fid: "2F00", records: [Self.absentApplicationRecord])]
        case .ddoPathsByAID:
            image.odfFID = "4401"
            image.tokenInfoFID = "4402"
            image.pathsInDDO = true
        }
        card.pkcs15 = image
        return card
    }
}
