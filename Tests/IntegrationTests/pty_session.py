"""Drives apdu-shell through a pseudo-terminal, as a person at a keyboard:
tab completion of a command and of a keyword, then a second session that
recalls the first one's last line from the persistent history file.

usage: pty_session.py APDU_SHELL HISTORY_FILE
Prints what the terminal showed; exits 0 when every check held."""
import os
import pty
import select
import sys
import time

shell, history = sys.argv[1], sys.argv[2]


def session(keys):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(shell, [shell, "--history", history])
    screen = b""

    def read(seconds=1.0):
        nonlocal screen
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

    read(1.5)
    for key in keys:
        os.write(fd, key)
        read(0.4)
    os.write(fd, b"\x04")
    read(1.0)
    os.waitpid(pid, 0)
    return screen.decode("utf-8", "replace")


first = session([b"ech\t", b"one-two\r", b"help sel\t", b"\r"])
second = session([b"\x1b[A", b"\r"])
print(first)
print("----")
print(second)
# "ech<TAB>one-two" prints one-two only if completion made it "echo ";
# "help sel<TAB>" shows the select help only if it became "help select".
# The second session's Up arrow recalls the first session's last line.
checks = {
    "command completed": "\none-two\n" in first.replace("\r", ""),
    "keyword completed": "select aid|fid|path HEX" in first,
    "history recalled": "select aid|fid|path HEX" in second,
}
failed = [name for name, held in checks.items() if not held]
print("checks failed:", failed)
sys.exit(1 if failed else 0)
