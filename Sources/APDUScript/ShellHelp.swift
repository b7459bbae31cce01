/// The shell's built-in help: one entry per command, details per topic.
public enum ShellHelp {
    static let entries: [(String, String, String)] = [
        ("readers", "readers", "List the readers, whether each holds a card, and its ATR."),
        ("connect", "connect [READER]", "Connect to a reader: name, index or unique part (quote names with spaces)."),
        ("disconnect", "disconnect", "Disconnect (with a reset when a secure channel was open)."),
        ("reset", "reset", "Warm-reset the card; closes every logical channel and secure channel."),
        ("atr", "atr", "Show the ATR decoded: convention, protocols, historical bytes."),
        ("ls", "ls", "List what the current DF holds: EF.DIR applications and EF.ICCID at the MF; ODF, TokenInfo, DODF and every data object by label in PKCS15, with sizes from the FCP."),
        ("cd", "cd NAME|FID|AID|..|/", "Select by name (EF.DIR, EF.ICCID, PKCS15, ODF, TokenInfo, DODF, a data object's label), 4-hex-digit file id, AID, parent or MF."),
        ("select", "select NAME | select aid|fid|path HEX [expect PATTERN]", "Select by name as cd does, or by AID (FCI), file id or path (FCP); a path starting 3F00 is from the MF."),
        ("cat", "cat [NAME]", "Select NAME if given, then read the whole EF (every record of a record EF) as a hex dump with ASCII; EF.ICCID also as digits."),
        ("read", "read binary [OFFSET] [LENGTH] | read record N | read all", "READ BINARY (LENGTH 0: as much as fits), READ RECORD, or the whole current EF."),
        ("decode", "decode [KIND] [HEX]", "Explain the last response or HEX. KIND: auto, fcp, tlv, atr, odf, tokeninfo, dodf, bootstrap, iccid, kit, cplc, status, dump. A bootstrap's secrets stay redacted without --reveal-secrets."),
        ("send", "send HEX [expect PATTERN]", "Send an APDU (a bare hex line does the same; spaces between bytes are fine)."),
        ("scp03", "scp03 open [level HEX] [keys FILE] [gp-test-keys] | scp03 close", "Open SCP03 on the current channel (default level 33, keys from FILE, --keys or DMBOOT_KEYS); later commands on it are wrapped."),
        ("keys", "keys", "GET DATA 00E0: the security domain's keys (version, id, type, length), to pick the key file before scp03 open."),
        ("cplc", "cplc", "GET DATA 9F7F: the Card Production Life Cycle data, field by field."),
        ("status", "status", "GET STATUS: issuer security domain, applications and load files. Selects the ISD first (which ends a secure channel to another application); opens SCP03 with the configured keys when the card demands it."),
        ("channel", "channel open | channel close [N] | channel N", "Open a logical channel (MANAGE CHANNEL), close one, or switch; each keeps its own selected file and SCP03 session."),
        ("pkcs15", "pkcs15", "Select the PKCS#15 application and list its data objects (in clear)."),
        ("trace", "trace on|off", "Also show the wire: every APDU as sent, GET RESPONSEs, and the plain and wrapped forms under SCP03."),
        ("getresponse", "getresponse on|off", "Off: 61xx and 6Cxx are shown as the card sent them, for T=0 debugging; on (default): followed up."),
        ("set", "set NAME VALUE", "Set a variable; use it later as $NAME or ${NAME}."),
        ("echo", "echo TEXT", "Print text, variables substituted ($sw, $sw1, $sw2, $response, $i)."),
        ("if", "if sw PATTERN | if response ~ PATTERN … [else …] end", "Run lines when the last status (or response data) matches; response patterns use X/? for a digit and * for any run."),
        ("repeat", "repeat N … end", "Run lines N times (1 to 10000); $i counts from 1."),
        ("fail", "fail [MESSAGE]", "Stop the script with MESSAGE and exit status 1."),
        ("sleep", "sleep SECONDS", "Wait (0 to 600 s); Ctrl-C ends the wait."),
        ("include", "include FILE", "Run another script (relative to this one); it is checked before anything runs."),
        ("expect", "expect PATTERN", "Check the last status: 9000, 61XX, 9000|6282 (X or ? is any hex digit)."),
        ("update", "update OFFSET HEX | update OFFSET file PATH", "UPDATE BINARY of the current EF in chunks that fit the channel (through SCP03 when open). Asks first; a script needs --yes."),
        ("save", "save FILE [NAME]", "Write the last response's data, or the whole EF NAME, to FILE (mode 0600). Card-encrypted data only with --reveal-secrets."),
        ("write-bootstrap", "write-bootstrap LABEL FILE", "Write a DM bootstrap (WBXML or XML, checked first) into the EF its DODF entry LABEL names, FF-padded, read back; refused when larger than that EF."),
        ("verify", "verify [REF] [env:NAME|file:PATH]", "VERIFY PIN REF (default 01): the tries left are asked and shown first; a blocked PIN is not tried; no retry. With no source, asked without echo."),
        ("change-pin", "change-pin [REF] [CURRENT NEW]", "CHANGE REFERENCE DATA: current then new PIN, each env:NAME or file:PATH, or asked without echo (the new one twice)."),
        ("unblock-pin", "unblock-pin [REF] [PUK NEW]", "RESET RETRY COUNTER with the PUK and a new PIN, each env:NAME or file:PATH, or asked without echo."),
        ("watch", "watch [SECONDS]", "Show readers arriving and leaving and cards inserted (ATR decoded) and removed, until Ctrl-C or SECONDS (1 to 86400) have passed."),
        ("history", "history", "List the lines entered in the interactive shell."),
        ("help", "help [COMMAND]", "This list, or one command."),
        ("quit", "quit | exit | ^D", "Leave the shell (interactive only); Ctrl-C cancels the line or the running command."),
    ]

    public static var commandNames: [String] { entries.map(\.0) }

    public static func text(for topic: String?) -> [String] {
        if let topic {
            guard let entry = entries.first(where: { $0.0 == topic.lowercased() }) else {
                let suggestion = ScriptParser.suggestion(for: topic).map { "; did you mean \"\($0)\"?" } ?? ""
                return ["no command \"\(topic)\"\(suggestion) (help lists them)"]
            }
            return ["\(entry.1)"] + wrap(entry.2, indent: "  ")
        }
        // Every usage and description whole, wrapped rather than cut.
        return entries.flatMap { ["  " + $0.1] + wrap($0.2, indent: "      ") }
    }

    static func wrap(_ text: String, indent: String, width: Int = 96) -> [String] {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count && line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        if line.count > indent.count { lines.append(line) }
        return lines
    }
}
