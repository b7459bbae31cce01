import APDU
import ArgumentParser
import CardResults
import CardSession
import CardTransport
import CommandLineSupport
import DMBootstrap
import Foundation
import JSONOutput
import KeySources
import PKCS15
import SecureChannel

/// How commands that read the PKCS#15 application reach it.
extension BootstrapReader.ExtendedLength: ExpressibleByArgument {}

struct PKCS15Options: ParsableArguments {
    @Option(help: ArgumentHelp("Extended-length APDUs: auto (as the ATR says), on or off.", valueName: "mode"))
    var extendedLength: BootstrapReader.ExtendedLength = .auto

    @Option(name: .customLong("dm-label"), help: ArgumentHelp(
        "Also take data objects with this label as DM bootstraps (for cards without the OID 2.23.43.7.1; repeatable).",
        valueName: "label"))
    var dmLabels: [String] = []

    /// The card reader every bootstrap-reading command uses: these options, the keys and the level;
    /// no keys and no level (`--level none`) read in clear.
    func bootstrapReader(keys: ResolvedKeys?, level: SecurityLevel?) -> BootstrapReader {
        var reader = BootstrapReader(keySource: level == nil ? nil : keys?.source)
        if let keys {
            reader.mode = keys.mode
            reader.compatibility = keys.compatibility
        }
        if let level { reader.level = level }
        reader.extendedLength = extendedLength
        reader.extraDMLabels = dmLabels
        return reader
    }
}

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read the bootstrap objects of the card's PKCS#15 application over SCP03.",
        discussion: """
        Selects the PKCS#15 application, opens SCP03 at --level, reads EF(ODF), EF(TokenInfo) and the DODFs, and \
        every DM (oidDO 2.23.43.7.1) and CP bootstrap they point at. Lists each object; with --out, writes each one \
        to a file (mode 0600: bootstraps carry credentials). Nothing is installed.
        """)

    @OptionGroup var readerOptions: ReaderOptions
    @OptionGroup var keyOptions: KeyOptions
    @OptionGroup var channelOptions: ChannelOptions
    @OptionGroup var pkcs15Options: PKCS15Options
    @OptionGroup var policyFile: PolicyFileOptions

    @Option(help: ArgumentHelp("Folder to write each bootstrap object into (created 0700 if missing).", valueName: "dir"))
    var out: String?

    @Flag(help: "Refuse as provision --strict does: a card challenge that does not match (exit 20), a bootstrap with warnings (exit 42); nothing is written.")
    var strict = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let level = try channelOptions.readLevel()
        // A read in clear needs the policy's consent (allowUnprotectedRead); a read over
        // SCP03 at any level stays the diagnostic it has always been.
        if level == nil { try policyFile.load().checkRead(level: nil) }
        let keys = try level.map { _ in try keyOptions.load() }
        let context = try PCSCContext()
        let card = try readerOptions.connect(context, reset: true)
        // A reset ends the card's side of the session with the connection.
        defer { card.disconnect(resetCard: true) }
        let channel = ISO7816Channel(link: card)
        var reader = pkcs15Options.bootstrapReader(keys: keys, level: level)
        // As provision's strict policy: the handshake ends at a challenge that does not match.
        reader.requiresChallengeMatch = strict
        let result = try reader.read(over: channel, atr: try card.atr())
        let objects = result.contents.bootstrapObjects
        guard !objects.isEmpty else { throw PKCS15Error.noBootstrapObject }
        let warnings = Self.warnings(in: objects)
        if strict && !warnings.isEmpty { throw BootstrapError.refusedWarnings(warnings) }
        var written: [String?] = Array(repeating: nil, count: objects.count)
        if let out {
            try PrivateFile.makeDirectory(out)
            for (index, object) in objects.enumerated() {
                let path = (out as NSString).appendingPathComponent(Self.fileName(for: object, number: index + 1))
                try PrivateFile.write(Data(object.content), to: path)
                written[index] = path
            }
        }
        let report = Report(reader: card.reader, result: result, written: written, warnings: warnings)
        if output.json { try Output.json(report.json) } else { report.printText() }
    }

    /// The validation warnings of the objects that decode (read installs nothing, so without --strict it
    /// refuses nothing; `decode` on a written file shows errors too).
    static func warnings(in objects: [BootstrapObject]) -> [AccountProblem] {
        let accounts = objects.flatMap { (try? BootstrapDecoder().decode($0.content))?.accounts ?? [] }
        return AccountValidator().problems(in: accounts).filter { $0.severity == .warning }
    }

    /// `1-dm-DM_bootstrap_demo_server.bin`: numbered in card order, safe for any file system.
    static func fileName(for object: BootstrapObject, number: Int) -> String {
        let label = (object.label ?? "object").map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        return "\(number)-\(object.kind.rawValue)-\(String(label.prefix(48))).bin"
    }

    struct Report {
        let reader: String
        let result: BootstrapReader.Result
        let written: [String?]
        let warnings: [AccountProblem]

        /// `read --json` (dmboot(1), READ OUTPUT).
        struct JSON: Encodable {
            struct Unreadable: Encodable {
                let kind: String
                @NullWhenAbsent var label: String?
                let path: String
                let reason: String
            }

            struct Object: Encodable {
                let kind: String
                @NullWhenAbsent var label: String?
                @NullWhenAbsent var applicationName: String?
                @NullWhenAbsent var oid: String?
                let path: String
                let size: Int
                @NullWhenAbsent var file: String?
            }

            let reader: String
            let application: String
            let foundBy: String
            let cardIdentity: String
            let cardIdentitySource: String
            @NullWhenAbsent var iccid: String?
            let `protocol`: String
            let cardWarnings: [String]
            let unreadableObjects: [Unreadable]
            let serialNumber: String
            @NullWhenAbsent var tokenLabel: String?
            @NullWhenAbsent var manufacturer: String?
            @NullWhenAbsent var level: String?
            let extendedLength: Bool
            let apduCount: Int
            let milliseconds: Double
            let objects: [Object]
            let warnings: [BootstrapJSON.Warning]
        }

        var json: JSON {
            let contents = result.contents
            return JSON(
                reader: reader, application: Hex.encode(contents.application.applicationID),
                foundBy: contents.application.foundBy, cardIdentity: result.identity.reference,
                cardIdentitySource: result.identity.source.rawValue, iccid: result.iccid?.digits,
                protocol: result.transmissionProtocol.rawValue, cardWarnings: result.warnings,
                unreadableObjects: contents.unreadableObjects.map { object in
                    JSON.Unreadable(kind: object.kind.rawValue, label: object.label, path: object.path.map { "\($0)" } ?? "none", reason: object.reason)
                },
                serialNumber: contents.tokenInfo.serialHex, tokenLabel: contents.tokenInfo.label,
                manufacturer: contents.tokenInfo.manufacturer, level: result.handshake?.level.hex,
                extendedLength: result.extendedLength, apduCount: result.apduCount, milliseconds: result.duration.milliseconds,
                objects: zip(contents.bootstrapObjects, written).map { object, file in
                    JSON.Object(kind: object.kind.rawValue, label: object.label, applicationName: object.applicationName,
                                oid: object.oid, path: object.path.map { "\($0)" } ?? "direct", size: object.content.count,
                                file: file)
                },
                warnings: ValidationWarnings.json(warnings))
        }

        func printText() {
            let contents = result.contents
            for warning in result.warnings { Output.progress("dmboot: warning: \(warning)") }
            Output.line("reader        \(reader)")
            Output.line("card          \(result.identity.reference) (\(result.transmissionProtocol.rawValue))")
            Output.line("application   \(Hex.encode(contents.application.applicationID)) (found by \(contents.application.foundBy))")
            Output.line("token         serial \(contents.tokenInfo.serialHex)\(contents.tokenInfo.label.map { ", \"\($0)\"" } ?? "")")
            Output.line("channel       \(result.handshake.map { "SCP03 level \($0.level)" } ?? "none")")
            for (index, (object, file)) in zip(contents.bootstrapObjects, written).enumerated() {
                Output.line("[\(index + 1)] \(object.kind.rawValue.uppercased())  \(object.label ?? "(no label)")  path \(object.path.map { "\($0)" } ?? "direct (in the DODF)")  \(object.content.count) bytes\(file.map { "  -> \($0)" } ?? "")")
            }
            Output.line("APDUs         \(result.apduCount) in \(String(format: "%.1f", result.duration.milliseconds)) ms")
            ValidationWarnings.print(warnings)
        }
    }
}
