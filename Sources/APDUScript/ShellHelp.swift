/// The shell's built-in help: one line per command, details per topic.
public enum ShellHelp {
    static let entries: [(String, String, String)] = [
        ("readers", "readers", "List the readers, whether each holds a card, and its ATR."),
        ("connect", "connect [READER]", "Connect to a reader: name, index or unique part (quote names with spaces)."),
        ("disconnect", "disconnect", "Disconnect (with a reset when a secure channel was open)."),
        ("reset", "reset", "Warm-reset the card; ends any secure channel."),
        ("atr", "atr", "Show the ATR and what it says."),
        ("send", "send HEX [expect PATTERN]", "Send an APDU (a bare hex line does the same). 61xx and 6Cxx are handled below the shell."),
        ("select", "select aid|fid|path HEX [expect PATTERN]", "SELECT by AID (FCI), file id or path (FCP); a path starting 3F00 is from the MF."),
        ("read", "read binary [OFFSET] [LENGTH] | read record N | read all", "READ BINARY (LENGTH 0: as much as fits), READ RECORD, or the whole current EF."),
        ("scp03", "scp03 open [level HEX] [keys FILE] [gp-test-keys] | scp03 close", "Open SCP03 (default level 33, keys from FILE, --keys or DMBOOT_KEYS); every later command is wrapped."),
        ("pkcs15", "pkcs15", "Select the PKCS#15 application and list its data objects (in clear)."),
        ("trace", "trace on|off", "Show wire exchanges, the plain and wrapped forms under SCP03, and status meanings."),
        ("set", "set NAME VALUE", "Set a variable; use it later as $NAME or ${NAME}."),
        ("echo", "echo TEXT", "Print text, variables substituted ($sw, $sw1, $sw2, $response)."),
        ("sleep", "sleep SECONDS", "Wait."),
        ("include", "include FILE", "Run another script (relative to this one)."),
        ("expect", "expect PATTERN", "Check the last status: 9000, 61XX, 9000|6282 (X or ? is any hex digit)."),
        ("help", "help [COMMAND]", "This list, or one command."),
        ("quit", "quit | exit | ^D", "Leave the shell (interactive only)."),
    ]

    public static var commandNames: [String] { entries.map(\.0) }

    public static func text(for topic: String?) -> [String] {
        if let topic {
            guard let entry = entries.first(where: { $0.0 == topic.lowercased() }) else {
                return ["no command \"\(topic)\"; help lists them"]
            }
            return ["\(entry.1)", "  \(entry.2)"]
        }
        return entries.map { "  \($0.1.padding(toLength: 46, withPad: " ", startingAt: 0)) \($0.2)" }
    }
}
