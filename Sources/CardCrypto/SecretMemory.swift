import COpenSSL
import Glibc
import Synchronization

/// Where key material lives, and what the process does so that it does not
/// leave: a core dump of a station held its SCP03 keys, AAuthSecrets and the
/// database password (issue 25).
///
/// - `protectProcess()` sets RLIMIT_CORE to 0 and makes the process
///   non-dumpable (PR_SET_DUMPABLE 0: no core file, and no ptrace attach by
///   other processes of the same user).
/// - `allocate` gives SecretBytes whole pages of their own, locked in RAM
///   (mlock: never written to swap) and marked MADV_DONTDUMP (left out of any
///   core file that is made anyway, by gdb's gcore as well). A lock the
///   system refuses (RLIMIT_MEMLOCK, EPERM) is said once on stderr; the
///   secret is still kept, wiped and left out of dumps.
public enum SecretMemory {
    private static let warned = Atomic<Bool>(false)

    /// No core file and no same-user ptrace for this process; for every
    /// process that holds keys, PINs or passwords.
    public static func protectProcess() {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        _ = dmboot_set_not_dumpable()
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Whole pages for `count` bytes, locked and left out of core dumps.
    /// Each secret is a mapping of its own, unmapped on release: pages taken
    /// from the allocator would keep their locked and no-dump marks after
    /// free, and every such page splits the heap's mapping in two, until the
    /// process meets its limit on mappings (vm.max_map_count).
    static func allocate(_ count: Int) -> UnsafeMutableRawBufferPointer {
        let size = (max(count, 1) + pageSize - 1) / pageSize * pageSize
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else {
            fatalError("dmboot: out of memory for \(size) bytes of key material")
        }
        _ = madvise(base, size, MADV_DONTDUMP)
        if mlock(base, size) != 0 {
            let reason = String(cString: strerror(errno))
            if !warned.exchange(true, ordering: .relaxed) {
                let message = "dmboot: warning: key material cannot be locked in memory (\(reason)); it may reach swap. "
                    + "Raise the memlock limit (ulimit -l) to keep it in RAM.\n"
                _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
        return UnsafeMutableRawBufferPointer(start: base, count: size)
    }

    /// Unmaps pages from `allocate` (which unlocks them), after the caller wiped them.
    static func release(_ pages: UnsafeMutableRawBufferPointer) {
        _ = munmap(pages.baseAddress, pages.count)
    }
}
