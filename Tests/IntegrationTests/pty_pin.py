"""Drives apdu-shell through a pseudo-terminal to check PIN entry: the PIN is
asked with echo off (the terminal's ECHO flag cleared while it is typed), never
shows on the screen, and neither it nor a line that holds one reaches the
history file.

usage: pty_pin.py APDU_SHELL HISTORY_FILE READER
Prints what the terminal showed; exits 0 when every check held."""
import sys
import termios

sys.dont_write_bytecode = True  # no __pycache__ in the test target's folder

from pty_terminal import Terminal

shell, history, reader = sys.argv[1], sys.argv[2], sys.argv[3]
PIN = "1234"

terminal = Terminal([shell, "--history", history, "--reader", reader])
terminal.prompt("apdu> ", "the prompt")
terminal.type(b"verify 01\r")
terminal.expect("3 tries left", "the tries left, asked before the PIN")
terminal.expect("PIN 01: ", "the PIN prompt")
if termios.tcgetattr(terminal.fd)[3] & termios.ECHO:
    terminal.fail("echo is on while the PIN is typed")
terminal.type(PIN.encode() + b"\r")
terminal.expect("PIN 01 verified", "the PIN verified")
terminal.prompt("]> ", "the prompt after verify")
# A PIN typed on the line is refused, and the line is not kept.
terminal.command(b"verify " + PIN.encode() + b"99", "error:", "a PIN on the line refused", "]> ")
terminal.type(b"\x04")
terminal.finish()
screen = terminal.text()
print(screen)
with open(history, encoding="utf-8", errors="replace") as kept:
    remembered = kept.read()
failures = []
if PIN in screen.replace("verify " + PIN + "99", ""):
    failures.append("the PIN showed on the screen")
if PIN in remembered:
    failures.append("the history holds the PIN")
if "verify" not in remembered:
    failures.append("the history lacks the verify line")
print("checks failed:", failures)
sys.exit(1 if failures else 0)
