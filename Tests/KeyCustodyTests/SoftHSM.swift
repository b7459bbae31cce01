import CPKCS11
import Foundation
@testable import KeyCustody
import XCTest

/// A SoftHSM2 token private to one test, in a token directory private to
/// the test process (SOFTHSM2_CONF under a temporary folder: SoftHSM reads
/// its configuration once per process, so each test gets its own token there
/// rather than its own directory). softhsm2-util initialises the token; AES
/// keys are created through C_CreateObject so each test states exactly which
/// usages (CKA_SIGN, CKA_ENCRYPT, CKA_DECRYPT) a key has.
final class SoftHSM {
    static let modulePath = "/usr/lib/softhsm/libsofthsm2.so"
    static let directory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-hsm-\(getpid())-\(UUID().uuidString)")
        let tokens = directory.appendingPathComponent("tokens")
        try! FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true)
        let configuration = directory.appendingPathComponent("softhsm2.conf")
        try! "directories.tokendir = \(tokens.path)\nobjectstore.backend = file\nlog.level = ERROR\n"
            .write(to: configuration, atomically: true, encoding: .utf8)
        setenv("SOFTHSM2_CONF", configuration.path, 1)
        return directory
    }()
    static var configurationPath: String { directory.appendingPathComponent("softhsm2.conf").path }

    let label: String
    let pin: String
    let pinFile: URL

    /// A new token; `label` defaults to a fresh unique name.
    init(label: String? = nil, pin: String = "1234") throws {
        // A missing module is a broken machine (scripts/install-deps.sh installs softhsm2), never a reason to skip.
        guard FileManager.default.fileExists(atPath: Self.modulePath) else {
            XCTFail("softhsm2 is not installed (no \(Self.modulePath)): run scripts/install-deps.sh")
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: Self.modulePath])
        }
        self.label = label ?? "Factory-" + UUID().uuidString.prefix(8)
        self.pin = pin
        pinFile = Self.directory.appendingPathComponent("pin-\(self.label)")
        try (pin + "\n").write(to: pinFile, atomically: true, encoding: .utf8)
        chmod(pinFile.path, 0o600)
        try Self.run("/usr/bin/softhsm2-util", ["--init-token", "--free", "--label", self.label, "--pin", pin,
                                                "--so-pin", "99999999"])
    }

    func uri(object: String, id: String? = nil, token: String? = nil, pinSource: Bool = true) -> String {
        var text = "pkcs11:token=\(token ?? label);object=\(object)"
        if let id { text += ";id=\(id)" }
        text += "?module-path=\(Self.modulePath)"
        if pinSource { text += "&pin-source=file:\(pinFile.path)" }
        return text
    }

    /// Creates a sensitive, non-extractable AES key with the given usages.
    func createAESKey(label object: String, id: [UInt8] = [0x01], value: [UInt8],
                      sign: Bool = true, encrypt: Bool = false, decrypt: Bool = false) throws {
        let module = try PKCS11Module.load(path: Self.modulePath)
        defer { module.release() }
        let functions = module.functions.pointee
        let (slot, _) = try module.findToken(label: label)
        var session = CK_SESSION_HANDLE(0)
        try module.check(functions.C_OpenSession!(slot, CK_FLAGS(CKF_SERIAL_SESSION | CKF_RW_SESSION), nil, nil, &session),
                         "C_OpenSession")
        defer { _ = functions.C_CloseSession!(session) }
        var pinBytes = Array(pin.utf8)
        let login = functions.C_Login!(session, CK_USER_TYPE(CKU_USER), &pinBytes, CK_ULONG(pinBytes.count))
        XCTAssertTrue(login == CK_RV(CKR_OK) || login == CK_RV(CKR_USER_ALREADY_LOGGED_IN))
        var keyClass = CK_OBJECT_CLASS(CKO_SECRET_KEY)
        var keyType = CK_KEY_TYPE(CKK_AES)
        var yes = CK_BBOOL(CK_TRUE), no = CK_BBOOL(CK_FALSE)
        var signFlag = sign ? yes : no, encryptFlag = encrypt ? yes : no, decryptFlag = decrypt ? yes : no
        var labelBytes = Array(object.utf8), idBytes = id, valueBytes = value
        var attributes: [(CK_ATTRIBUTE_TYPE, UnsafeMutableRawPointer, Int)] = []
        func add<T>(_ type: UInt, _ pointer: UnsafeMutablePointer<T>, _ size: Int) {
            attributes.append((CK_ATTRIBUTE_TYPE(type), UnsafeMutableRawPointer(pointer), size))
        }
        let created: CK_RV = withUnsafeMutablePointer(to: &keyClass) { classPointer in
            withUnsafeMutablePointer(to: &keyType) { typePointer in
                withUnsafeMutablePointer(to: &yes) { yesPointer in
                    withUnsafeMutablePointer(to: &no) { noPointer in
                        withUnsafeMutablePointer(to: &signFlag) { signPointer in
                            withUnsafeMutablePointer(to: &encryptFlag) { encryptPointer in
                                withUnsafeMutablePointer(to: &decryptFlag) { decryptPointer in
                                    labelBytes.withUnsafeMutableBufferPointer { labelPointer in
                                        idBytes.withUnsafeMutableBufferPointer { idPointer in
                                            valueBytes.withUnsafeMutableBufferPointer { valuePointer in
                                                add(UInt(CKA_CLASS), classPointer, MemoryLayout<CK_OBJECT_CLASS>.size)
                                                add(UInt(CKA_KEY_TYPE), typePointer, MemoryLayout<CK_KEY_TYPE>.size)
                                                add(UInt(CKA_TOKEN), yesPointer, 1)
                                                add(UInt(CKA_SENSITIVE), yesPointer, 1)
                                                add(UInt(CKA_EXTRACTABLE), noPointer, 1)
                                                add(UInt(CKA_SIGN), signPointer, 1)
                                                add(UInt(CKA_VERIFY), signPointer, 1)
                                                add(UInt(CKA_ENCRYPT), encryptPointer, 1)
                                                add(UInt(CKA_DECRYPT), decryptPointer, 1)
                                                add(UInt(CKA_LABEL), labelPointer.baseAddress!, labelPointer.count)
                                                add(UInt(CKA_ID), idPointer.baseAddress!, idPointer.count)
                                                add(UInt(CKA_VALUE), valuePointer.baseAddress!, valuePointer.count)
                                                var template = attributes.map {
                                                    CK_ATTRIBUTE(type: $0.0, pValue: $0.1, ulValueLen: CK_ULONG($0.2))
                                                }
                                                var handle = CK_OBJECT_HANDLE(0)
                                                return functions.C_CreateObject!(session, &template, CK_ULONG(template.count), &handle)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        try module.check(created, "C_CreateObject")
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "SoftHSM", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments.first ?? ""): " + String(decoding: message, as: UTF8.self)])
        }
    }
}
