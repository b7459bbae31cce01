import CPKCS11
import CardCrypto
import Foundation
import SecureChannel
import Synchronization

/// A logged-in session with one PKCS#11 token. Keys stay in the token: this
/// type only asks it for CMACs, AES-ECB blocks and AES-CBC decryptions with
/// them. Calls are serialised (a PKCS#11 session is not for concurrent use),
/// so station threads can share one token.
public final class PKCS11Token: Sendable {
    public let uri: PKCS11URI
    public let tokenLabel: String
    private let module: PKCS11Module
    private let slot: CK_SLOT_ID
    private let session: Mutex<CK_SESSION_HANDLE>

    /// Loads the module, finds the token and logs in with the PIN from the
    /// URI's pin-source or the environment. Every failure here happens before
    /// a card is touched.
    public init(uri: PKCS11URI, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.uri = uri
        let module = try PKCS11Module.load(path: uri.modulePath)
        var handle = CK_SESSION_HANDLE(CK_INVALID_HANDLE)
        let slot: CK_SLOT_ID, label: String
        do {
            (slot, label) = try module.findToken(label: uri.token)
            try module.check(module.functions.pointee.C_OpenSession!(slot, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &handle),
                             "C_OpenSession")
            try Self.login(module: module, session: handle, token: label, pinSource: uri.pinSource,
                           environment: environment)
        } catch {
            if handle != CK_SESSION_HANDLE(CK_INVALID_HANDLE) { _ = module.functions.pointee.C_CloseSession!(handle) }
            module.release()
            throw error
        }
        self.module = module
        self.slot = slot
        tokenLabel = label
        session = Mutex(handle)
    }

    private static func login(module: PKCS11Module, session handle: CK_SESSION_HANDLE, token label: String,
                              pinSource: String?, environment: [String: String]) throws {
        let pin = try PINSource.read(pinSource, environment: environment)
        defer { pin.wipe() }
        var copy = pin.exposedCopy()
        defer { Secure.wipe(&copy) }
        let result = module.functions.pointee.C_Login!(handle, CK_USER_TYPE(CKU_USER), &copy, CK_ULONG(copy.count))
        switch result {
        case CK_RV(CKR_OK), CK_RV(CKR_USER_ALREADY_LOGGED_IN): break
        case CK_RV(CKR_PIN_INCORRECT), CK_RV(CKR_PIN_LEN_RANGE): throw PKCS11Error.pinIncorrect(token: label)
        case CK_RV(CKR_PIN_LOCKED): throw PKCS11Error.pinLocked(token: label)
        default: throw PKCS11Error.failed(function: "C_Login", code: UInt(result))
        }
    }

    /// Closing the session is enough: the token logs the user out when an
    /// application's last session with it closes (an explicit C_Logout would
    /// also end another PKCS11Token's login to the same token).
    deinit {
        session.withLock { handle in
            _ = module.functions.pointee.C_CloseSession!(handle)
        }
        module.release()
    }

    /// What a key must allow for the job dmboot gives it.
    public enum Use: Sendable {
        /// CMAC for diversification and the SCP03 KDF: CKM_AES_CMAC with
        /// CKA_SIGN, or, where the token lacks CMAC, AES-ECB with CKA_ENCRYPT.
        case cmac
        /// AES-CBC decryption of a key table's columns: CKA_DECRYPT.
        case decrypt
    }

    /// The AES secret key the URI's object label (and id) name.
    public func secretKey(use: Use) throws -> PKCS11SecretKey {
        guard let label = uri.object else { throw PKCS11Error.noObjectLabel(uri: "\(uri)") }
        return try session.withLock { handle -> PKCS11SecretKey in
            let functions = module.functions
            var keyClass = CK_OBJECT_CLASS(CKO_SECRET_KEY)
            var labelBytes = Array(label.utf8)
            var id = uri.id ?? []
            var template: [CK_ATTRIBUTE] = []
            withUnsafeMutableBytes(of: &keyClass) { template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: $0.baseAddress, ulValueLen: CK_ULONG($0.count))) }
            labelBytes.withUnsafeMutableBytes { template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_LABEL), pValue: $0.baseAddress, ulValueLen: CK_ULONG($0.count))) }
            if uri.id != nil {
                id.withUnsafeMutableBytes { template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_ID), pValue: $0.baseAddress, ulValueLen: CK_ULONG($0.count))) }
            }
            // The pointers above stay valid: the arrays and keyClass outlive the find.
            try module.check(functions.pointee.C_FindObjectsInit!(handle, &template, CK_ULONG(template.count)),
                             "C_FindObjectsInit")
            var found = [CK_OBJECT_HANDLE](repeating: 0, count: 2)
            var count: CK_ULONG = 0
            let searched = functions.pointee.C_FindObjects!(handle, &found, 2, &count)
            _ = functions.pointee.C_FindObjectsFinal!(handle)
            try module.check(searched, "C_FindObjects")
            guard count > 0 else { throw PKCS11Error.objectNotFound(object: "\(uri)", token: tokenLabel) }
            guard count == 1 else { throw PKCS11Error.objectAmbiguous(object: "\(uri)", token: tokenLabel) }
            return try describeKey(found[0], label: label, use: use, session: handle)
        }
    }

    private func describeKey(_ object: CK_OBJECT_HANDLE, label: String, use: Use,
                             session handle: CK_SESSION_HANDLE) throws -> PKCS11SecretKey {
        let keyType = try ulongAttribute(object, CK_ATTRIBUTE_TYPE(CKA_KEY_TYPE), session: handle)
        guard keyType == CK_KEY_TYPE(CKK_AES) else {
            throw PKCS11Error.keyUnusable(object: "\(uri)", reason: "it is not an AES key")
        }
        let length = Int(try ulongAttribute(object, CK_ATTRIBUTE_TYPE(CKA_VALUE_LEN), session: handle))
        guard [16, 24, 32].contains(length) else {
            throw PKCS11Error.keyUnusable(object: "\(uri)", reason: "an AES key of \(length) bytes")
        }
        switch use {
        case .cmac:
            let canSign = try boolAttribute(object, CK_ATTRIBUTE_TYPE(CKA_SIGN), session: handle)
            let canEncrypt = try boolAttribute(object, CK_ATTRIBUTE_TYPE(CKA_ENCRYPT), session: handle)
            if canSign && module.supports(CK_MECHANISM_TYPE(CKM_AES_CMAC), flag: CK_FLAGS(CKF_SIGN), slot: slot) {
                return PKCS11SecretKey(token: self, handle: object, length: length, method: .tokenCMAC)
            }
            if canEncrypt && module.supports(CK_MECHANISM_TYPE(CKM_AES_ECB), flag: CK_FLAGS(CKF_ENCRYPT), slot: slot) {
                return PKCS11SecretKey(token: self, handle: object, length: length, method: .ecbCMAC)
            }
            throw PKCS11Error.keyUsageMissing(object: "\(uri)", needed: "CKA_SIGN (for CKM_AES_CMAC) or CKA_ENCRYPT (for CKM_AES_ECB)")
        case .decrypt:
            guard try boolAttribute(object, CK_ATTRIBUTE_TYPE(CKA_DECRYPT), session: handle) else {
                throw PKCS11Error.keyUsageMissing(object: "\(uri)", needed: "CKA_DECRYPT (for CKM_AES_CBC)")
            }
            return PKCS11SecretKey(token: self, handle: object, length: length, method: .tokenCMAC)
        }
    }

    private func ulongAttribute(_ object: CK_OBJECT_HANDLE, _ type: CK_ATTRIBUTE_TYPE,
                                session handle: CK_SESSION_HANDLE) throws -> CK_ULONG {
        var value: CK_ULONG = 0
        let result = withUnsafeMutableBytes(of: &value) { buffer -> CK_RV in
            var attribute = CK_ATTRIBUTE(type: type, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(buffer.count))
            return module.functions.pointee.C_GetAttributeValue!(handle, object, &attribute, 1)
        }
        try module.check(result, "C_GetAttributeValue")
        return value
    }

    private func boolAttribute(_ object: CK_OBJECT_HANDLE, _ type: CK_ATTRIBUTE_TYPE,
                               session handle: CK_SESSION_HANDLE) throws -> Bool {
        var value: CK_BBOOL = 0
        let result = withUnsafeMutableBytes(of: &value) { buffer -> CK_RV in
            var attribute = CK_ATTRIBUTE(type: type, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(buffer.count))
            return module.functions.pointee.C_GetAttributeValue!(handle, object, &attribute, 1)
        }
        if result == CK_RV(CKR_ATTRIBUTE_TYPE_INVALID) { return false }
        try module.check(result, "C_GetAttributeValue")
        return value != 0
    }

    /// One single-part operation with `key`: sign (CMAC), encrypt or decrypt.
    enum Operation { case sign, encrypt, decrypt }

    func run(_ operation: Operation, mechanism type: CK_MECHANISM_TYPE, parameter: [UInt8] = [],
             key: CK_OBJECT_HANDLE, input: [UInt8], outputLength: Int) throws -> [UInt8] {
        try session.withLock { handle in
            let functions = module.functions.pointee
            var parameterBytes = parameter
            return try parameterBytes.withUnsafeMutableBytes { parameterBuffer in
                var mechanism = CK_MECHANISM(mechanism: type,
                                             pParameter: parameter.isEmpty ? nil : parameterBuffer.baseAddress,
                                             ulParameterLen: CK_ULONG(parameter.count))
                var data = input
                defer { Secure.wipe(&data) }
                var output = [UInt8](repeating: 0, count: outputLength)
                var written = CK_ULONG(outputLength)
                let name: String
                let started: CK_RV, finished: CK_RV
                switch operation {
                case .sign:
                    name = "C_Sign"
                    started = functions.C_SignInit!(handle, &mechanism, key)
                    finished = started == CK_RV(CKR_OK)
                        ? functions.C_Sign!(handle, &data, CK_ULONG(data.count), &output, &written) : started
                case .encrypt:
                    name = "C_Encrypt"
                    started = functions.C_EncryptInit!(handle, &mechanism, key)
                    finished = started == CK_RV(CKR_OK)
                        ? functions.C_Encrypt!(handle, &data, CK_ULONG(data.count), &output, &written) : started
                case .decrypt:
                    name = "C_Decrypt"
                    started = functions.C_DecryptInit!(handle, &mechanism, key)
                    finished = started == CK_RV(CKR_OK)
                        ? functions.C_Decrypt!(handle, &data, CK_ULONG(data.count), &output, &written) : started
                }
                if finished != CK_RV(CKR_OK) {
                    Secure.wipe(&output)
                    if finished == CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED) {
                        throw PKCS11Error.keyUsageMissing(object: "\(uri)", needed: "\(name) permission")
                    }
                    throw PKCS11Error.failed(function: name, code: UInt(finished))
                }
                return Array(output.prefix(Int(written)))
            }
        }
    }
}

/// A handle to an AES key inside a token. Holding one never brings the key
/// value into host memory.
public struct PKCS11SecretKey: CMACKey {
    enum Method: Sendable {
        case tokenCMAC
        /// CMAC (SP 800-38B) built on the token's AES-ECB, block by block;
        /// only CMAC subkeys and chaining values (never the key) are in host memory.
        case ecbCMAC
    }

    let token: PKCS11Token
    let handle: CK_OBJECT_HANDLE
    public let length: Int
    let method: Method

    /// Whether CMACs are the token's own CKM_AES_CMAC (otherwise built on its AES-ECB).
    public var usesTokenCMAC: Bool { method == .tokenCMAC }

    public func cmac(_ message: [UInt8]) throws -> [UInt8] {
        switch method {
        case .tokenCMAC:
            return try token.run(.sign, mechanism: CK_MECHANISM_TYPE(CKM_AES_CMAC), key: handle, input: message,
                                 outputLength: 16)
        case .ecbCMAC:
            return try CMACOverBlockCipher.compute(message) { block in
                try token.run(.encrypt, mechanism: CK_MECHANISM_TYPE(CKM_AES_ECB), key: handle, input: block,
                              outputLength: 16)
            }
        }
    }

    /// The AES KCV computed inside the token (AES-ECB of 16 × 01); needs CKA_ENCRYPT.
    public func keyCheckValue() throws -> [UInt8] {
        Array(try token.run(.encrypt, mechanism: CK_MECHANISM_TYPE(CKM_AES_ECB), key: handle,
                            input: [UInt8](repeating: 0x01, count: 16), outputLength: 16).prefix(3))
    }

    /// AES-CBC decryption under this key with `iv`, without padding.
    public func decryptCBC(_ data: [UInt8], iv: [UInt8]) throws -> [UInt8] {
        try token.run(.decrypt, mechanism: CK_MECHANISM_TYPE(CKM_AES_CBC), parameter: iv, key: handle, input: data,
                      outputLength: data.count)
    }
}

public enum PKCS11Error: Error, Equatable, CustomStringConvertible {
    case moduleUnloadable(path: String, reason: String)
    case failed(function: String, code: UInt)
    case tokenNotFound(label: String?, present: [String])
    case pinIncorrect(token: String)
    case pinLocked(token: String)
    case noObjectLabel(uri: String)
    case objectNotFound(object: String, token: String)
    case objectAmbiguous(object: String, token: String)
    case keyUnusable(object: String, reason: String)
    case keyUsageMissing(object: String, needed: String)

    public var description: String {
        switch self {
        case .moduleUnloadable(let path, let reason):
            return "cannot load PKCS#11 module \(path): \(reason)"
        case .failed(let function, let code):
            return "PKCS#11 \(function) failed: CKR 0x\(String(code, radix: 16, uppercase: true))"
        case .tokenNotFound(let label, let present):
            let wanted = label.map { "no token labelled \"\($0)\"" } ?? "no token"
            return "\(wanted); tokens present: \(present.isEmpty ? "none" : present.map { "\"\($0)\"" }.joined(separator: ", "))"
        case .pinIncorrect(let token):
            return "token \"\(token)\" refused the PIN; check the pin-source file or \(PINSource.environmentName) (tokens lock after a few wrong PINs)"
        case .pinLocked(let token):
            return "token \"\(token)\": the user PIN is locked; the security officer must reset it"
        case .noObjectLabel(let uri):
            return "\(uri) names no key: add object=LABEL"
        case .objectNotFound(let object, let token):
            return "token \"\(token)\" holds no AES secret key \(object)"
        case .objectAmbiguous(let object, let token):
            return "token \"\(token)\" holds more than one secret key matching \(object); add id=... to the URI"
        case .keyUnusable(let object, let reason):
            return "\(object) cannot be an SCP03 key: \(reason)"
        case .keyUsageMissing(let object, let needed):
            return "\(object) does not allow what dmboot needs: \(needed)"
        }
    }
}
