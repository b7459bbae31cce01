import APDU
import CardTransport
import SecureChannel

/// The protected channel of one read, able to open SCP03 again once. A
/// security domain may end the session when an applet answers a READ
/// BINARY with 6700 or 6F00 (its answer did not fit); the next command then
/// meets 6982 or 6988. Only after such a length recovery, and only once, the
/// application is selected again in clear, the session opened again (a new
/// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE: the first one was accepted,
/// and a refused one is never retried, since cards block their keys), the
/// last file SELECT repeated and the command sent again.
final class RecoveringSecureChannel: CardChannel {
    private(set) var current: SecureCardChannel
    private let reopen: () throws -> SecureCardChannel
    /// Sessions opened again; at most one.
    private(set) var reopened = 0
    /// The last SELECT of a file that the card took, to put the card back where it was.
    private var lastFileSelect: CommandAPDU?

    init(_ channel: SecureCardChannel, reopen: @escaping () throws -> SecureCardChannel) {
        current = channel
        self.reopen = reopen
    }

    /// New READ BINARY commands sent because a protected answer did not fit, over every session.
    var lengthRecoveries: Int { recoveriesBefore + current.lengthRecoveries }
    private var recoveriesBefore = 0

    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        let response = try current.transmit(command)
        if command.ins == 0xA4 && command.p1 != 0x04 && (response.status == .success || response.status.isWarning) {
            lastFileSelect = command
        }
        guard response.status == StatusWord(0x6982) || response.status == StatusWord(0x6988),
              current.lengthRecoveries > 0, reopened == 0 else { return response }
        reopened += 1
        let readLength = current.readLength
        recoveriesBefore += current.lengthRecoveries
        current.close()
        current = try reopen()
        current.readLength = readLength
        if let lastFileSelect, lastFileSelect != command {
            _ = try current.expectSuccess(lastFileSelect, "SELECT again after the secure channel was opened again",
                                          warningsAllowed: true)
        }
        return try current.transmit(command)
    }

    func close() { current.close() }
}
