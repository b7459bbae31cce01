import CPCSCLite

/// Every way PC/SC can fail, in the words a technician needs: what happened
/// and what to do about it.
public enum PCSCError: Error, Equatable, CustomStringConvertible {
    case serviceNotRunning
    case noReaders
    case unknownReader(String, available: [String])
    case ambiguousReader(String, candidates: [String])
    case noCard(reader: String)
    case noCardInAnyReader(readers: [String])
    case cardRemoved(reader: String)
    case cardReset(reader: String)
    case sharingViolation(reader: String)
    case timeout(waitingFor: String, seconds: Double)
    case readerUnavailable(reader: String)
    case unresponsiveCard(reader: String)
    case protocolMismatch(reader: String)
    case failure(operation: String, code: Int)

    public var description: String {
        switch self {
        case .serviceNotRunning:
            return "the PC/SC service (pcscd) is not running; start it with 'sudo systemctl start pcscd.socket' (or run 'sudo pcscd'), and check 'systemctl status pcscd'; for the virtual test card, scripts/rig-start.sh starts a pcscd with the vpcd reader instead"
        case .noReaders:
            return "no smartcard reader is connected; plug one in, or start the virtual reader with scripts/rig-start.sh"
        case .unknownReader(let name, let available):
            return "no reader matches \"\(name)\"; readers: \(Self.list(available))"
        case .ambiguousReader(let name, let candidates) where name.isEmpty:
            return "several readers hold a card: \(candidates.map { "\"\($0)\"" }.joined(separator: ", ")); choose one with --reader NAME|INDEX"
        case .ambiguousReader(let name, let candidates):
            return "\"\(name)\" matches several readers: \(Self.list(candidates)); give more of the name or its index"
        case .noCardInAnyReader(let readers):
            return "no reader holds a card: \(Self.list(readers)); insert one, or choose a reader with --reader NAME|INDEX (and --wait SECONDS)"
        case .noCard(let reader):
            return "no card in reader \"\(reader)\"; insert one (or use --wait SECONDS)"
        case .cardRemoved(let reader):
            return "the card was removed from \"\(reader)\" during the session; nothing read from it was used"
        case .cardReset(let reader):
            return "the card in \"\(reader)\" was reset by another application; run the command again"
        case .sharingViolation(let reader):
            return "another application holds the card in \"\(reader)\" exclusively; close it and try again"
        case .timeout(let event, let seconds):
            return "waited \(Self.format(seconds)) s for \(event); it did not happen"
        case .readerUnavailable(let reader):
            return "reader \"\(reader)\" went away"
        case .unresponsiveCard(let reader):
            return "the card in \"\(reader)\" does not answer the reset; reinsert it"
        case .protocolMismatch(let reader):
            return "the card in \"\(reader)\" does not speak T=0 or T=1 as requested"
        case .failure(let operation, let code):
            return "\(operation) failed: \(Self.message(for: code))"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.enumerated().map { "[\($0.offset)] \($0.element)" }.joined(separator: ", ")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    static func message(for code: Int) -> String {
        let text = String(cString: pcsc_stringify_error(LONG(code)))
        return "\(text) (0x\(String(UInt32(truncatingIfNeeded: code), radix: 16, uppercase: true)))"
    }

    /// pcscd is gone (no service, or its socket closed under a call: an RPC
    /// transport error), or was restarted under a context it no longer knows
    /// (an invalid handle): a new context may work once it is back.
    public var isServiceLoss: Bool {
        switch self {
        case .serviceNotRunning: return true
        case .failure(_, let code): return code == Int(CPCSC_E_INVALID_HANDLE) || code == Int(CPCSC_F_COMM_ERROR)
        default: return false
        }
    }

    /// Maps a PC/SC return code to the error a user can act on.
    static func from(code: LONG, operation: String, reader: String? = nil, timeout: Double? = nil) -> PCSCError {
        let name = reader ?? "?"
        switch code {
        case CPCSC_E_NO_SERVICE, CPCSC_E_SERVICE_STOPPED: return .serviceNotRunning
        case CPCSC_E_NO_READERS_AVAILABLE: return .noReaders
        case CPCSC_E_UNKNOWN_READER: return .unknownReader(name, available: [])
        case CPCSC_E_NO_SMARTCARD: return .noCard(reader: name)
        case CPCSC_W_REMOVED_CARD: return .cardRemoved(reader: name)
        case CPCSC_W_RESET_CARD: return .cardReset(reader: name)
        case CPCSC_E_SHARING_VIOLATION: return .sharingViolation(reader: name)
        case CPCSC_E_TIMEOUT: return .timeout(waitingFor: "\(operation) on \"\(name)\"", seconds: timeout ?? 0)
        case CPCSC_E_READER_UNAVAILABLE: return .readerUnavailable(reader: name)
        case CPCSC_W_UNRESPONSIVE_CARD, CPCSC_W_UNPOWERED_CARD: return .unresponsiveCard(reader: name)
        case CPCSC_E_PROTO_MISMATCH: return .protocolMismatch(reader: name)
        default: return .failure(operation: operation, code: Int(code))
        }
    }
}
