import APDU

/// Cards that ship inside dmboot-sim (never dmboot), so the demo and a dry run need no
/// profile file.
public enum BuiltInProfiles {
    /// ATR of the built-in cards: T=1 only (TD1 = 01), historical bytes "dmboot-vcard".
    public static let demoATR = "3B8C01646D626F6F742D7663617264DD"

    /// The demo card's security domain: key set 30, pseudo-random challenges,
    /// R-MAC and R-ENC (i = 70). Its keys are public, like GlobalPlatform's
    /// test keys; `dmboot-sim --write-keys` writes them as a key file.
    public static let demoSecurityDomain = SecureDomainProfile(
        kvn: "30",
        enc: "D0B1C2D3E4F5061728394A5B6C7D8E9F",
        mac: "E0C1D2E3F405162738495A6B7C8D9EAF",
        dek: "F0D1E2F30415263748596A7B8C9DAEBF",
        i: "70", kdd: "4445 4D4F 2D43 4152 4430", sequenceCounter: 0)

    /// The WBXML DM bootstrap of the demo card (Fixtures/bootstrap/dm12-psk.wbxml).
    public static var demoBootstrap: [UInt8] { DemoBootstrap.wbxml }

    /// The card `dmboot-sim` serves when no profile is given: an ICCID
    /// in EF 2FE2, and a PKCS#15 application with one DM bootstrap (2275
    /// bytes of WBXML) that only a level-33 secure channel may read.
    public static var demo: CardProfile {
        CardProfile(
            name: "dmboot demo card",
            atr: demoATR,
            scp03: demoSecurityDomain,
            pkcs15: PKCS15ImageProfile(
                serialNumber: "44454D4F0001", label: "dmboot demo", manufacturer: "dmboot",
                objects: [
                    .init(kind: "dm", label: "DM bootstrap: demo server", fid: "6001",
                          content: Hex.encode(DemoBootstrap.wbxml), size: 2560),
                ]),
            files: FileNode(fid: "3F00", children: [
                FileNode(fid: "2FE2", content: "98102143658709214365"),
            ]))
    }
}
