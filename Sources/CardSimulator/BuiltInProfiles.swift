/// Cards that ship inside dmboot, so the demo and a factory dry run need no
/// profile file. Later layers give the demo card its PKCS#15 application.
public enum BuiltInProfiles {
    /// ATR of the built-in cards: T=1 only (TD1 = 01), historical bytes "dmboot-vcard".
    public static let demoATR = "3B8C01646D626F6F742D7663617264DD"

    /// The card `dmboot simulate` serves when no profile is given.
    public static var demo: CardProfile {
        CardProfile(
            name: "dmboot demo card",
            atr: demoATR,
            files: FileNode(fid: "3F00", children: [
                FileNode(fid: "2FE2", content: "98102143658709214365F7"),
                FileNode(fid: "2F00", records: [
                    "61144F0CA000000063504B43532D31355104" + "3F005015",
                ]),
                FileNode(fid: "5015", aid: "A000000063504B43532D3135", children: [
                    FileNode(fid: "5031", content: "A706300404025040"),
                    FileNode(fid: "5040", content: String(repeating: "0102030405060708", count: 160)),
                ]),
            ]))
    }
}
