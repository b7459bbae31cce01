/// Cards that ship inside dmboot, so the demo and a factory dry run need no
/// profile file. Later layers give the demo card its PKCS#15 application.
public enum BuiltInProfiles {
    /// ATR of the built-in cards: T=1 only (TD1 = 01), historical bytes "dmboot-vcard".
    public static let demoATR = "3B8C01646D626F6F742D7663617264DD"

    /// The demo card's security domain: key set 30, pseudo-random challenges,
    /// R-MAC and R-ENC (i = 70). Its keys are public, like GlobalPlatform's
    /// test keys; `dmboot simulate --write-keys` writes them as a key file.
    public static let demoSecurityDomain = SecureDomainProfile(
        kvn: "30",
        enc: "D0B1C2D3E4F5061728394A5B6C7D8E9F",
        mac: "E0C1D2E3F405162738495A6B7C8D9EAF",
        dek: "F0D1E2F30415263748596A7B8C9DAEBF",
        i: "70", kdd: "4445 4D4F 2D43 4152 4430", sequenceCounter: 0)

    /// The card `dmboot simulate` serves when no profile is given.
    public static var demo: CardProfile {
        CardProfile(
            name: "dmboot demo card",
            atr: demoATR,
            scp03: demoSecurityDomain,
            files: FileNode(fid: "3F00", children: [
                FileNode(fid: "2FE2", content: "98102143658709214365F7"),
                FileNode(fid: "2F00", records: [
                    "61144F0CA000000063504B43532D31355104" + "3F005015",
                ]),
                FileNode(fid: "5015", aid: "A000000063504B43532D3135", children: [
                    FileNode(fid: "5031", content: "A706300404025040"),
                    FileNode(fid: "5040", content: String(repeating: "0102030405060708", count: 160), readLevel: "33"),
                ]),
            ]))
    }
}
