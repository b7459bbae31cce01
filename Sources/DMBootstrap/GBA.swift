import CardCrypto

/// The 3GPP GBA key derivation (TS 33.220 Annex B) as OMA DM Security
/// 5.10.2.4.1 uses it for pushed bootstraps: HMAC-SHA-256(Ks_(ext/int)_NAF,
/// FC ‖ P0 ‖ L0) with FC = 01.
///
/// The specification writes P0 as "dmbik"/"dmbek" but gives the bytes
/// 64 6D 2D 62 69 6B ("dm-bik") and L0 = 00 06. Six bytes agree with both the
/// hex and L0, and a five-byte "dmbik" would contradict L0 = 6, so dmboot
/// derives with "dm-bik" and "dm-bek".
public enum GBAKeyDerivation {
    public static let integrityLabel = Array("dm-bik".utf8)
    public static let encryptionLabel = Array("dm-bek".utf8)

    public static func derive(ksNAF: SecretBytes, label: [UInt8]) throws -> SecretBytes {
        let input: [UInt8] = [0x01] + label + [UInt8(label.count >> 8), UInt8(label.count & 0xFF)]
        var derived = try MAC.hmac(.sha256, key: ksNAF, message: input)
        return SecretBytes(wiping: &derived)
    }

    /// DMBIK and DMBEK from one Ks_(ext/int)_NAF.
    public static func bootstrapKeys(ksNAF: SecretBytes) throws -> (integrity: SecretBytes, encryption: SecretBytes) {
        (try derive(ksNAF: ksNAF, label: integrityLabel), try derive(ksNAF: ksNAF, label: encryptionLabel))
    }
}
