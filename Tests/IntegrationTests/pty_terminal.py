"""A program on a pseudo-terminal, driven as a person at a keyboard drives
it: type, then wait until the screen shows what should come next. Every wait
has a deadline and names what it waits for; nothing waits a fixed time.
Shared by pty_session.py and pty_debugger.py."""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


class Terminal:
    def __init__(self, argv, columns=200):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            # Wide enough that no line wraps: libedit redraws a wrapped line with escape codes.
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            os.execv(argv[0], argv)
        self.screen = b""
        self.seen = 0
        self.ended = False

    def type(self, keys):
        os.write(self.fd, keys)

    def _read(self, seconds):
        ready, _, _ = select.select([self.fd], [], [], max(seconds, 0))
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the program has ended and closed the terminal
            chunk = b""
        self.screen += chunk
        self.ended = not chunk

    def shows(self, text, seconds=20):
        """Whether `text` appears after what the last wait found, within
        `seconds`; the next wait looks after it."""
        wanted = text.encode() if isinstance(text, str) else text
        deadline = time.monotonic() + seconds
        while True:
            found = self.screen.find(wanted, self.seen)
            if found >= 0:
                self.seen = found + len(wanted)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.ended:
                return False
            self._read(remaining)

    def expect(self, text, what, seconds=20):
        """Waits for `text`; ends the run, failed, naming `what`, if it does not come in time."""
        if not self.shows(text, seconds):
            self.fail("%s: %r did not show within %s s" % (what, text, seconds))

    def prompt(self, text, what, seconds=20):
        """Waits for the prompt `text`, then for the line editor to take the
        terminal (ICANON off): libedit prints its prompt before it switches
        the terminal to raw mode, and a key typed in between can be lost."""
        self.expect(text, what, seconds)
        deadline = time.monotonic() + seconds
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                self.fail("%s: the line editor did not take the terminal within %s s" % (what, seconds))
            self._read(0.01)

    def command(self, line, output, what, prompt):
        """Types the rest of a line and Enter, waits for `output`, then for the next `prompt`."""
        self.type(line + b"\r")
        self.expect(output, what)
        self.prompt(prompt, "the prompt after: " + what)

    def finish(self, seconds=20):
        """Waits for the program to end; returns its wait status."""
        deadline = time.monotonic() + seconds
        while not self.ended and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        if not self.ended:
            self.fail("the program did not end within %s s" % seconds)
        return os.waitpid(self.pid, 0)[1]

    def text(self):
        return self.screen.decode("utf-8", "replace")

    def fail(self, reason):
        print(self.text())
        print("checks failed:", [reason])
        os.kill(self.pid, signal.SIGKILL)
        sys.exit(1)
