import APDU
import ArgumentParser
import CardResults
import CardSession
import CardTransport
import CommandLineSupport
import ExitContract
import Foundation
import JSONOutput
import KeyCustody
import KeySources
import SecureChannel

/// `dmboot keys rotate`: one card from its current SCP03 keys to new ones
/// with GlobalPlatform PUT KEY (`KeyRotation`), checked by a new session
/// with the new keys, and recorded (card, versions, KCVs; never a key).
struct KeysRotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a card's SCP03 key set with PUT KEY, then prove the new keys open a session; never prints a key.",
        discussion: """
        The card's issuer security domain is selected and opened with the --from keys; PUT KEY replaces that key \
        set with the --to keys (each encrypted with the current DEK, each with its KCV); the card's answer must \
        carry the new version and KCVs, and a new session must open with the new keys. When a step after PUT KEY \
        fails, the card is asked which set it holds now (a session with the new keys, then the old; EXTERNAL \
        AUTHENTICATE only after the card's cryptogram proved the keys). Both sets must be in host memory: a key \
        file, a key table, or master keys in a key file with --from-diversify/--to-diversify kdf3; keys inside a \
        PKCS#11 token cannot be encrypted for the card. Asks y/N on a terminal; a script needs --yes.
        """)

    @OptionGroup var readerOptions: ReaderOptions

    @Option(help: ArgumentHelp("The card's current keys: a key file or a key table (dmboot-keys(5)).", valueName: "source"))
    var from: String

    @Option(help: ArgumentHelp("The keys the card gets: a key file or a key table; their version must differ from the current.",
                               valueName: "source"))
    var to: String

    @Option(help: ArgumentHelp("The --from keys are master keys, diversified for the card (kdf3).", valueName: "method"))
    var fromDiversify: CardKeyProvider.Diversification?

    @Option(help: ArgumentHelp("The --to keys are master keys, diversified for the card (kdf3).", valueName: "method"))
    var toDiversify: CardKeyProvider.Diversification?

    @Option(help: ArgumentHelp("PKCS#11 URI of the AES key that decrypts a key table's columns (either table).", valueName: "uri"))
    var keyTableKek: String?

    @OptionGroup var channelOptions: ChannelOptions

    @Option(help: ArgumentHelp("Append the rotation's record (JSON, one line) to this file.", valueName: "file"))
    var log: String?

    @Flag(help: "Rotate without asking (scripts).")
    var yes = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let current = try load(from, fromDiversify)
        let next = try load(to, toDiversify)
        let journal = try log.map { try JSONLinesLog(path: $0) }
        let context = try PCSCContext()
        let card = try readerOptions.connect(context)
        defer { card.disconnect(resetCard: true) }
        guard yes || Self.confirm("replace the SCP03 keys of the card in \"\(card.reader)\" with the --to keys") else {
            throw RotationRefusal.notConfirmed
        }
        let rotation = KeyRotation(level: try channelOptions.securityLevel(), mode: current.mode,
                                   compatibility: current.compatibility)
        let started = ContinuousClock.now
        let outcome = rotation.rotate(over: ISO7816Channel(link: card), keys: KeyRotation.Keys(
            currentSource: current.source,
            current: { try Self.hostKeys(current.source, kdd: $0) },
            next: { try Self.hostKeys(next.source, kdd: $0) }))
        let failure = outcome.failure.map { Self.classify($0, holding: outcome.holding) }
        let record = RotationRecord(outcome, reader: card.reader, failure: failure,
                                    milliseconds: (ContinuousClock.now - started).milliseconds)
        try journal?.append(record)
        if output.json {
            try Output.json(record)
        } else {
            Output.line("card (KDD)    \(record.keyDiversificationData)")
            Output.line("key version   \(record.oldKeyVersion ?? "?") -> \(record.newKeyVersion ?? "?")")
            for role in StaticKeyRole.allCases {
                Output.line("\(role.rawValue)           KCV \(record.oldKCV[role.rawValue] ?? "?") -> \(record.newKCV[role.rawValue] ?? "?")")
            }
            Output.line("card holds    \(outcome.holding.rawValue) keys")
        }
        if let failure { throw output.json ? ReportedFailure(error: failure) : failure }
    }

    private func load(_ source: String, _ diversification: CardKeyProvider.Diversification?) throws -> ResolvedKeys {
        try KeySourceResolver(environment: [:], warn: { Output.progress("dmboot: \($0)") })
            .resolve(KeySources.KeyOptions(keys: source, diversification: diversification, keyTableKEK: keyTableKek))
    }

    /// A source's keys for the card with this KDD, in host memory.
    static func hostKeys(_ source: any SCP03KeySource, kdd: [UInt8]) throws -> SCP03Keys {
        switch source {
        case let fixed as StaticKeySource:
            return try fixed.keys.copy()
        case let provider as CardKeyProvider:
            let keys = try provider.keys(kdd: kdd, iccid: nil)
            defer { keys.wipe() }
            guard let inHost = keys.keysInHostMemory else { throw RotationRefusal.keysInToken }
            return try inHost.copy()
        default:
            throw RotationRefusal.keysInToken
        }
    }

    /// What a failure means for the exit status: PUT KEY sent and the new keys not proven is 155, else 154
    /// when PUT KEY was refused or answered wrongly, else the failure's own status.
    static func classify(_ error: Error, holding: KeyRotation.Holding) -> RotationFailure {
        let status: ExitStatus
        switch error {
        case KeyRotationError.sameVersion: status = .usage
        case KeyRotationError.refused where holding == .old: status = .keyRotationFailed
        case is KeyRotationError: status = holding == .new ? .keyRotationUncertain : (holding == .old ? .keyRotationFailed : .keyRotationUncertain)
        default: status = holding == .old ? ExitStatus.of(error, otherwise: .transportError) : .keyRotationUncertain
        }
        return RotationFailure(reason: "\(error)", holding: holding, exitStatus: status)
    }

    static func confirm(_ change: String) -> Bool {
        guard isatty(STDIN_FILENO) == 1 else { return false }
        FileHandle.standardError.write(Data("\(change)? [y/N] ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        return answer == "y" || answer == "yes"
    }
}

/// Why a rotation did not start.
enum RotationRefusal: Error, CustomStringConvertible, ClassifiedFailure {
    case notConfirmed
    case keysInToken

    var description: String {
        switch self {
        case .notConfirmed: return "not confirmed, the card was not changed (answer y, or give --yes in a script)"
        case .keysInToken:
            return "the keys stay inside the PKCS#11 token, so they cannot be encrypted for PUT KEY; give a key file or a key table"
        }
    }

    var exitStatus: ExitStatus {
        switch self {
        case .notConfirmed: return .changeNotConfirmed
        case .keysInToken: return .keyMaterial
        }
    }
}

/// A rotation that did not end with the new keys proven, with what the card holds.
struct RotationFailure: Error, CustomStringConvertible, ClassifiedFailure {
    let reason: String
    let holding: KeyRotation.Holding
    let exitStatus: ExitStatus

    var description: String { "\(reason); the card holds its \(holding.rawValue) keys" }
}

/// One rotation in the log and in --json: the card, versions and KCVs, what it holds; never a key.
struct RotationRecord: Encodable {
    let time: Date
    let reader: String
    let keyDiversificationData: String
    @NullWhenAbsent var oldKeyVersion: String?
    @NullWhenAbsent var newKeyVersion: String?
    let oldKCV: [String: String]
    let newKCV: [String: String]
    let holds: KeyRotation.Holding
    let ok: Bool
    @NullWhenAbsent var failure: String?
    let exitCode: Int32
    let `class`: String
    let milliseconds: Double

    init(_ outcome: KeyRotation.Outcome, reader: String, failure: RotationFailure?, milliseconds: Double) {
        time = Date()
        self.reader = reader
        keyDiversificationData = Hex.encode(outcome.keyDiversificationData)
        oldKeyVersion = outcome.oldKeyVersion.map { Hex.encode([$0]) }
        newKeyVersion = outcome.newKeyVersion.map { Hex.encode([$0]) }
        oldKCV = Dictionary(uniqueKeysWithValues: outcome.oldCheckValues.map { ($0.key.rawValue, Hex.encode($0.value)) })
        newKCV = Dictionary(uniqueKeysWithValues: outcome.newCheckValues.map { ($0.key.rawValue, Hex.encode($0.value)) })
        holds = outcome.holding
        ok = failure == nil
        self.failure = failure?.description
        exitCode = failure?.exitStatus.rawValue ?? 0
        `class` = (failure?.exitStatus ?? .success).failureClass
        self.milliseconds = (milliseconds * 10).rounded() / 10
    }
}
