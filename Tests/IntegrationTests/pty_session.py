"""Drives apdu-shell through a pseudo-terminal, as a person at a keyboard:
tab completion of a command and of a keyword, then a second session that
recalls the first one's last line from the persistent history file.

usage: pty_session.py APDU_SHELL HISTORY_FILE
Prints what the terminal showed; exits 0 when every check held."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the test target's folder

from pty_terminal import Terminal

shell, history = sys.argv[1], sys.argv[2]
PROMPT = "apdu> "
SELECT_HELP = "select aid|fid|path HEX"


def session():
    terminal = Terminal([shell, "--history", history])
    terminal.prompt(PROMPT, "the prompt")
    return terminal


def leave(terminal):
    terminal.type(b"\x04")
    status = terminal.finish()
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        terminal.fail("Ctrl-D exits cleanly")


first = session()
# "ech<TAB>" completes to "echo ", so "one-two" is echoed back on its own line.
first.type(b"ech\t")
first.expect("o ", "the command completed")
first.command(b"one-two", "\r\none-two\r\n", "the completed command ran", PROMPT)
# "help sel<TAB>" completes to "help select", which shows the select help.
first.type(b"help sel\t")
first.expect("ect ", "the keyword completed")
first.command(b"", SELECT_HELP, "the completed keyword's help", PROMPT)
leave(first)

# The second session's Up arrow recalls the first session's last line.
second = session()
second.type(b"\x1b[A")
second.expect("help select", "history recalled")
second.command(b"", SELECT_HELP, "the recalled line ran", PROMPT)
leave(second)

print(first.text())
print("----")
print(second.text())
print("checks failed:", [])
