"""Drives apdu-shell through a pseudo-terminal as a card engineer would:
completes a quoted reader name and the names of files, watches the prompt
follow the reader, channel and DF, cancels a typed line and a running
command with Ctrl-C, lists the history, and leaves with Ctrl-D.

usage: pty_debugger.py APDU_SHELL HISTORY_FILE READER KEYS
Prints what the terminal showed; exits 0 when every check held."""
import os
import pty
import select
import sys
import time

shell, history, reader, keys = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(shell, [shell, "--history", history, "--keys", keys])
screen = b""


def read(seconds):
    global screen
    deadline = time.time() + seconds
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            screen += chunk


def typed(keys, wait=0.5):
    os.write(fd, keys)
    read(wait)


def lines():
    return [line.strip() for line in screen.decode("utf-8", "replace").replace("\r", "\n").split("\n")]


read(1.5)
# The reader name holds spaces: complete it inside an open quote, twice.
# "Virt" completes to the readers' common "Virtual PCD "; the rest of the
# name completes to the one reader and closes the quote.
typed(b'connect "Virt\t')
typed(reader[len("Virtual PCD "):].encode() + b"\t")
typed(b"\r", 1.5)
typed(b"cd PKC\t")
typed(b"\r", 1.0)
typed(b'cd "DM b\t')
typed(b"\r", 1.0)
# Ctrl-C drops the line being typed: it is neither run nor kept.
typed(b"echo never-printed")
typed(b"\x03")
typed(b"echo after-cancel\r")
# Ctrl-C stops a running command and gives the prompt back.
typed(b"sleep 30\r")
started = time.time()
typed(b"\x03", 0.5)
typed(b"echo back-at-prompt\r", 1.0)
waited = time.time() - started
typed(b"history\r", 1.0)
os.write(fd, b"\x04")
read(1.5)
_, status = os.waitpid(pid, 0)
text = screen.decode("utf-8", "replace")
print(text)
shown = lines()
checks = {
    "quoted reader completed and connected": any(l.startswith("connected to " + reader) for l in shown),
    "prompt shows reader, channel and MF": ("apdu[%s ch0 /]>" % reader) in text,
    "name completed, prompt shows the DF": ("apdu[%s ch0 /PKCS15]>" % reader) in text,
    "label completed": ("ch0 /PKCS15/DM bootstrap: demo server]>") in text,
    "cancelled line not run": "never-printed" not in shown and "after-cancel" in shown,
    "running command interrupted": any("interrupted (Ctrl-C)" in l for l in shown) and "back-at-prompt" in shown and waited < 10,
    "history lists the lines": any(l.endswith("cd PKCS15") and l.split()[0].isdigit() for l in shown),
    "Ctrl-D exits cleanly": os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
}
failed = [name for name, held in checks.items() if not held]
print("checks failed:", failed)
sys.exit(1 if failed else 0)
