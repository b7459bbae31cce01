"""Drives apdu-shell through a pseudo-terminal as a card engineer would:
completes a quoted reader name and the names of files, watches the prompt
follow the reader, channel and DF, cancels a typed line and a running
command with Ctrl-C, lists the history, and leaves with Ctrl-D.

usage: pty_debugger.py APDU_SHELL HISTORY_FILE READER KEYS
Prints what the terminal showed; exits 0 when every check held."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the test target's folder
import time

from pty_terminal import Terminal

shell, history, reader, keys = sys.argv[1:5]
terminal = Terminal([shell, "--history", history, "--keys", keys])
terminal.prompt("apdu> ", "the prompt")

# The reader name holds spaces: complete it inside an open quote, twice.
# "Virt" completes to the readers' common "Virtual PCD "; the rest of the
# name completes to the one reader and closes the quote.
terminal.type(b'connect "Virt\t')
terminal.expect("ual PCD ", "the readers' common prefix completed")
terminal.type(reader[len("Virtual PCD "):].encode() + b"\t")
terminal.expect('" ', "the reader name completed and its quote closed")
terminal.type(b"\r")
terminal.expect("connected to " + reader, "the completed reader connected")
prompt = "apdu[%s ch0 /" % reader
terminal.prompt(prompt + "]> ", "the prompt shows reader, channel and MF")
terminal.type(b"cd PKC\t")
terminal.expect("S15 ", "the DF name completed")
terminal.type(b"\r")
terminal.prompt(prompt + "PKCS15]> ", "the prompt shows the DF")
terminal.type(b'cd "DM b\t')
terminal.expect('ootstrap: demo server" ', "the file label completed")
terminal.type(b"\r")
prompt += "PKCS15/DM bootstrap: demo server]> "
terminal.prompt(prompt, "the prompt shows the file")

# Ctrl-C drops the line being typed: it is neither run nor kept.
terminal.type(b"echo never-printed")
terminal.expect("never-printed", "the typed line echoed")
terminal.type(b"\x03")
terminal.prompt(prompt, "a fresh prompt after Ctrl-C")
terminal.command(b"echo after-cancel", "\r\nafter-cancel\r\n", "the next line ran", prompt)

# Ctrl-C stops a running command and gives the prompt back. The shell says
# nothing when sleep starts, and a Ctrl-C that lands between the end of the
# line and the start of its command is cleared with the line, so Ctrl-C is
# pressed again (as a person would) while no interruption shows.
terminal.type(b"sleep 30\r")
terminal.expect("sleep 30\r\n", "the command taken")
deadline = time.monotonic() + 10
terminal.type(b"\x03")
while not terminal.shows("interrupted (Ctrl-C)", 1):
    if time.monotonic() > deadline:
        terminal.fail("Ctrl-C stops the running command")
    terminal.type(b"\x03")
terminal.prompt(prompt, "the prompt back after the interruption")
terminal.command(b"echo back-at-prompt", "\r\nback-at-prompt\r\n", "a command runs after the interruption", prompt)
terminal.command(b"history", "cd PKCS15", "the history lists the lines", prompt)
terminal.type(b"\x04")
status = terminal.finish()
text = terminal.text()
print(text)
shown = [line.strip() for line in text.replace("\r", "\n").split("\n")]
checks = {
    "cancelled line not run": "never-printed" not in shown,
    "history numbers the lines": any(l.endswith("cd PKCS15") and l.split()[0].isdigit() for l in shown),
    "Ctrl-D exits cleanly": os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
}
failed = [name for name, held in checks.items() if not held]
print("checks failed:", failed)
sys.exit(1 if failed else 0)
