import CardCrypto
import Foundation

/// Questions the interactive shell asks on the controlling terminal, not
/// through libedit: a y/N before a change, and a PIN with echo turned off
/// (termios ECHO cleared, restored however the read ends), so the PIN is
/// never on the screen, in the line buffer, or in the history.
public enum TerminalPrompt {
    /// Longest answer read; a PIN is 8 bytes, a y/N one.
    static let maxAnswer = 64

    /// "y" or "yes" agrees; anything else, end of input or Ctrl-C does not.
    public static func confirm(_ change: String) -> Bool {
        guard var answer = ask("\(change)? [y/N] ", echo: true) else { return false }
        defer { Secure.wipe(&answer) }
        let text = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        return text == "y" || text == "yes"
    }

    /// The typed secret, or nil on Ctrl-C or end of input.
    public static func readSecret(_ prompt: String) -> SecretBytes? {
        guard var answer = ask(prompt, echo: false) else { return nil }
        return SecretBytes(wiping: &answer)
    }

    private static func ask(_ prompt: String, echo: Bool) -> [UInt8]? {
        let terminal = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard terminal >= 0 else { return nil }
        defer { close(terminal) }
        var saved = termios()
        let isTerminal = tcgetattr(terminal, &saved) == 0
        if isTerminal && !echo {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO | ECHONL)
            tcsetattr(terminal, TCSAFLUSH, &quiet)
        }
        defer {
            if isTerminal && !echo {
                tcsetattr(terminal, TCSAFLUSH, &saved)
                _ = write(terminal, "\n", 1)
            }
        }
        _ = prompt.withCString { write(terminal, $0, strlen($0)) }
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(terminal, &byte, 1)
            if count < 0 && errno == EINTR {
                if Interrupt.take() {
                    Secure.wipe(&answer)
                    return nil
                }
                continue
            }
            guard count == 1 else {
                Secure.wipe(&answer)
                return nil
            }
            if byte == 0x0A || byte == 0x0D { return answer }
            if answer.count < maxAnswer { answer.append(byte) }
        }
    }
}
