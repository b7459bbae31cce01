import Foundation

/// A decision a card must pass before its accounts are installed: the place
/// for a results database to refuse a card it already saw provisioned, or
/// to claim the card so that two stations do not install it at once. It
/// throws (a `ClassifiedFailure`) to refuse; nothing is installed then.
public protocol CardAdmission: Sendable {
    func admit(_ card: AdmissionRequest) throws
}

/// What is known of the card when it asks for admission: read, identified,
/// its bootstraps decoded and checked. No secret.
public struct AdmissionRequest: Sendable, Equatable {
    /// `CardIdentity.reference` ("iccid:<ICCID>", "pkcs15:<serial>" or
    /// "unidentified"), as the tree and the results name the card.
    public let cardIdentity: String
    public let pkcs15Serial: String
    /// The SCP03 key version the card answered with; nil when read in clear.
    public let keyVersion: UInt8?
    /// The DM accounts that would be installed.
    public let accounts: [String]
    /// The tree they go into.
    public let treePath: String
    /// The provenance time the install writes beside them (whole seconds, as
    /// the tree keeps it): after a crash, accounts of this card with this
    /// time in the tree say that the install committed.
    public let installTime: Date

    public init(cardIdentity: String, pkcs15Serial: String, keyVersion: UInt8?, accounts: [String], treePath: String,
                installTime: Date) {
        self.cardIdentity = cardIdentity
        self.pkcs15Serial = pkcs15Serial
        self.keyVersion = keyVersion
        self.accounts = accounts
        self.treePath = treePath
        self.installTime = installTime
    }
}
