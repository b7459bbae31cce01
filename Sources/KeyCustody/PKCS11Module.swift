import CPKCS11
import Foundation
import Synchronization

/// A PKCS#11 module loaded with dlopen and initialised once per process.
/// Several tokens (a master key and a key-encryption key) may come from the
/// same module, and C_Finalize would end them all, so modules are shared and
/// counted: the last user finalises and unloads.
final class PKCS11Module: Sendable {
    let path: String
    // Addresses rather than pointers, so the type is plainly Sendable: the
    // function list is the module's own read-only table, valid until dlclose,
    // which only the last user (release) calls.
    private let functionListAddress: UInt
    private let libraryAddress: UInt

    private init(path: String, library: UnsafeMutableRawPointer, functions: UnsafeMutablePointer<CK_FUNCTION_LIST>) {
        self.path = path
        libraryAddress = UInt(bitPattern: library)
        functionListAddress = UInt(bitPattern: functions)
    }

    var functions: UnsafeMutablePointer<CK_FUNCTION_LIST> {
        UnsafeMutablePointer(bitPattern: functionListAddress)!
    }

    private struct Loaded {
        var module: PKCS11Module
        var users: Int
    }

    private static let loaded = Mutex<[String: Loaded]>([:])

    static func load(path: String) throws -> PKCS11Module {
        try loaded.withLock { modules in
            if var entry = modules[path] {
                entry.users += 1
                modules[path] = entry
                return entry.module
            }
            guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                throw PKCS11Error.moduleUnloadable(path: path, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
            }
            guard let symbol = dlsym(library, "C_GetFunctionList") else {
                dlclose(library)
                throw PKCS11Error.moduleUnloadable(path: path, reason: "it has no C_GetFunctionList: not a PKCS#11 module")
            }
            let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
            var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
            guard getFunctionList(&list) == CK_RV(CKR_OK), let list else {
                dlclose(library)
                throw PKCS11Error.moduleUnloadable(path: path, reason: "C_GetFunctionList failed")
            }
            // The module may be called from several threads; it uses the OS's locks.
            var arguments = CK_C_INITIALIZE_ARGS(CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil,
                                                 flags: CK_FLAGS(CKF_OS_LOCKING_OK), pReserved: nil)
            let initialised = list.pointee.C_Initialize!(&arguments)
            guard initialised == CK_RV(CKR_OK) || initialised == CK_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED) else {
                dlclose(library)
                throw PKCS11Error.moduleUnloadable(
                    path: path, reason: "C_Initialize failed: CKR 0x\(String(UInt(initialised), radix: 16, uppercase: true))")
            }
            let module = PKCS11Module(path: path, library: library, functions: list)
            modules[path] = Loaded(module: module, users: 1)
            return module
        }
    }

    /// Gives up one use; the last one finalises the module and unloads it.
    func release() {
        Self.loaded.withLock { modules in
            guard var entry = modules[path] else { return }
            entry.users -= 1
            if entry.users > 0 {
                modules[path] = entry
                return
            }
            modules[path] = nil
            _ = functions.pointee.C_Finalize!(nil)
            dlclose(UnsafeMutableRawPointer(bitPattern: libraryAddress)!)
        }
    }

    func check(_ result: CK_RV, _ function: String) throws {
        guard result == CK_RV(CKR_OK) else { throw PKCS11Error.failed(function: function, code: UInt(result)) }
    }

    /// The slot of the token labelled `label` (the first token when nil).
    func findToken(label: String?) throws -> (CK_SLOT_ID, String) {
        var count: CK_ULONG = 0
        try check(functions.pointee.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count), "C_GetSlotList")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        if count > 0 {
            try check(functions.pointee.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slots, &count), "C_GetSlotList")
        }
        var present: [String] = []
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard functions.pointee.C_GetTokenInfo!(slot, &info) == CK_RV(CKR_OK),
                  info.flags & CK_FLAGS(CKF_TOKEN_INITIALIZED) != 0 else { continue }
            // Token labels are 32 bytes of UTF-8 padded with blanks (PKCS#11 CK_TOKEN_INFO).
            let raw = withUnsafeBytes(of: info.label) { Array($0) }
            let name = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if label == nil || name == label { return (slot, name) }
            present.append(name)
        }
        throw PKCS11Error.tokenNotFound(label: label, present: present)
    }

    func supports(_ mechanism: CK_MECHANISM_TYPE, flag: CK_FLAGS, slot: CK_SLOT_ID) -> Bool {
        var info = CK_MECHANISM_INFO()
        guard functions.pointee.C_GetMechanismInfo!(slot, mechanism, &info) == CK_RV(CKR_OK) else { return false }
        return info.flags & flag != 0
    }
}
