# The console stream (USB CDC / UART REPL port) as a non-blocking byte link.
import sys

import micropython
from micropython import const

try:
    import select
except ImportError:
    import uselect as select

_CTRL_C = const(3)
_CR = const(13)
_NL = const(10)


class Console:
    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._prev = _NL
        # Take Ctrl-C off the USB stack: a bit flipped by line noise must not
        # kill the control loop. mpremote's interrupt ("\r" then Ctrl-C) is
        # still honoured below. The REPL restores the interrupt character.
        micropython.kbd_intr(-1)

    def read(self):
        """One received byte (int), or -1 when nothing is waiting."""
        ev = self._poll.poll(0)
        if not ev:
            return -1
        b = self._in.read(1)
        if not b:
            # The line was closed (host side of a pipe/PTY went away).
            raise SystemExit(0)
        c = b[0]
        # "\r" then Ctrl-C only (mpremote's sequence): a Ctrl-C after a
        # frame's "\n" is line noise, not the operator.
        if c == _CTRL_C and self._prev == _CR:
            raise KeyboardInterrupt
        self._prev = c
        return c

    def write(self, data):
        self._out.write(data)
