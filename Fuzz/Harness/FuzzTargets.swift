import APDU
import APDUScript
import CardCrypto
import DMBootstrap
import DMTree
import Foundation
import LocalFiles
import MCIM
import PKCS15
import Provisioning
import SecureChannel

/// One input, as libFuzzer hands it over. One binary serves every target;
/// scripts/fuzz.sh names the one to run in DMBOOT_FUZZ_TARGET. Typed errors
/// are the expected outcome for most inputs; a trap, a sanitizer report, a
/// leak or a timeout is what libFuzzer reports as a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}

/// libFuzzer's driver, which its own main() would call: SwiftPM points
/// main at the module's entry point, so that entry point starts it.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("dmboot_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}

enum FuzzTarget: String, CaseIterable, Sendable {
    case wbxml, xml, tnds, cp, ber, scp03, apduScript = "apdu-script", mcim, contentType = "content-type", keyFile = "key-file"
    case policy, treeJSON = "tree-json", path

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["DMBOOT_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("DMBOOT_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
            exit(2)
        }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .wbxml: decode(bytes, format: .wbxml)
        case .xml: decode(bytes, format: .xml)
        case .tnds: decode(bytes, format: .tnds)
        case .cp: decode(bytes, format: .cp)
        case .ber: PKCS15Structures.parse(bytes)
        case .scp03: SecureMessaging.exercise(bytes)
        case .apduScript: _ = try? ScriptParser().parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.apdu")
        case .mcim: MCIMBlobs.exercise(bytes)
        case .contentType: _ = try? PushContentType(parsing: String(decoding: bytes, as: UTF8.self))
        case .keyFile: Files.load(bytes) { _ = try KeyFile.open(path: $0) }
        case .policy: Files.load(bytes) { _ = try ProvisioningPolicy.load(path: $0) }
        case .treeJSON:
            if let imported = try? TreeExport.accounts(fromJSON: Data(bytes)) { _ = AccountValidator().problems(in: imported.accounts) }
        case .path: PathOptions.exercise(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Decoding and then validating, as `decode`, `provision` and `tree import` do.
    func decode(_ bytes: [UInt8], format: BootstrapDecoder.Format) {
        guard let decoded = try? BootstrapDecoder().decode(bytes, format: format) else { return }
        let problems = AccountValidator().problems(in: decoded.accounts)
        _ = BootstrapJSON.object(decoded, problems: problems, revealSecrets: true)
    }
}

/// Every PKCS#15 structure dmboot reads from a card, from one input.
enum PKCS15Structures {
    static func parse(_ bytes: [UInt8]) {
        _ = try? ObjectDirectory(bytes: bytes)
        _ = try? TokenInfo(bytes: bytes)
        _ = try? DataObjectEntry.parseDirectory(bytes, file: "fuzz")
        _ = try? DirectoryEntry.parse(record: bytes, number: 1)
        var reader = BERReader(bytes, file: "fuzz")
        while let element = try? reader.next() { _ = try? reader.children(of: element) }
    }
}

/// SCP03 response protection at level 33 with fixed session keys. An input
/// whose first byte is odd is a plain response that is protected card-side
/// and must open host-side to exactly itself; otherwise the input is a
/// response from a card and is only opened.
enum SecureMessaging {
    static func exercise(_ bytes: [UInt8]) {
        guard let first = bytes.first, bytes.count >= 3 else { return }
        let keys = SCP03SessionKeys(enc: SecretBytes([UInt8](repeating: 0x11, count: 16)),
                               mac: SecretBytes([UInt8](repeating: 0x22, count: 16)),
                               rmac: SecretBytes([UInt8](repeating: 0x33, count: 16)))
        let session = SCP03MessageProtection(keys: keys, level: .full, mode: first & 0x02 == 0 ? .s8 : .s16,
                                             chainingValue: [UInt8](repeating: 0x44, count: 16), counter: 1)
        guard let response = try? ResponseAPDU(bytes: Array(bytes.dropFirst())) else { return }
        guard first & 0x01 == 1 else {
            _ = try? session.unwrap(response)
            return
        }
        guard response.data.count < session.maxResponseData(extendedLength: true),
              let wrapped = try? session.wrapResponse(response) else { return }
        let opened = try? session.unwrap(wrapped)
        let expected = response.status.isError ? ResponseAPDU(status: response.status) : response
        if opened != expected { fatalError("SCP03: a response the card side protected did not open to itself") }
    }
}

/// MCIM blobs for a device key kept beside this harness (made for fuzzing
/// only). An input starting with 00 is a payload that must survive a
/// pack/unpack round trip; anything else is a blob to open.
enum MCIMBlobs {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let privateKey = (try? [UInt8](Data(contentsOf: folder.appendingPathComponent("mcim-fuzz-device.key")))) ?? []
    static let publicKey = (try? [UInt8](Data(contentsOf: folder.appendingPathComponent("mcim-fuzz-device.pub")))) ?? []

    static func exercise(_ bytes: [UInt8]) {
        guard bytes.first == 0x00 else {
            _ = try? MCIMBlob.unpack(bytes, privateKeyPEM: privateKey)
            return
        }
        let payload = Array(bytes.dropFirst())
        guard let blob = try? MCIMBlob.pack(payload: payload, tag: .mcim, publicKeyPEM: publicKey) else { return }
        guard let contents = try? MCIMBlob.unpack(blob, privateKeyPEM: privateKey), contents.payload == payload else {
            fatalError("MCIM: a packed payload did not unpack to itself")
        }
    }
}

/// Key and policy files are read by path, with their permission checks;
/// the input goes into one owner-only file per process. An empty file is
/// left out: Foundation's Data(contentsOf:) leaks its 4 KiB read buffer for
/// one (swift-foundation's readBytesFromFile), which LeakSanitizer reports
/// on every run.
enum Files {
    static let path = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-fuzz-\(getpid()).json").path

    static func load(_ bytes: [UInt8], _ read: (String) throws -> Void) {
        guard !bytes.isEmpty else { return }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return }
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        try? read(path)
    }
}

/// The path options (--tree, --tree-dir, --summary, --failed-list, an
/// included script) as dmboot takes them apart: a folder is a byte prefix of
/// its path, and a per-card tree lies directly in its --tree-dir.
enum PathOptions {
    static func exercise(_ path: String) {
        let folder = PathText.folder(of: path)
        if !path.utf8.starts(with: folder.utf8) { fatalError("path: the folder of a path is not a prefix of it") }
        if PathText.folder(of: folder).utf8.count > folder.utf8.count { fatalError("path: a folder's folder is longer") }
        let tree = Provisioner.TreeLocation.perCard(directory: path).path(for: "pkcs15:" + path)
        if PathText.folder(of: tree) != PathText.folder(of: PathText.joining(path, "x")) {
            fatalError("path: a per-card tree is not directly in its --tree-dir")
        }
        _ = try? ScriptParser().parse("include x.apdu", file: path)
    }
}
