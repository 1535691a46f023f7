"""Lockstep for the emulated board: its clock runs while the host waits on it.

A free-running emulated board keeps its clock going while the host thinks,
so the board time at which a command lands (and with it the phase of every
conversion, turn and noise sample the firmware meets) depends on how fast
the host and the operating system happen to be. In lockstep the board's
world (``sim/simworld.py``) lets virtual time pass only in quanta the bridge
grants. The bridge grants them while a command of the host's is in progress
(sent, and not yet answered with ACK/NAK or, for an accepted long command,
DONE) and holds the board at a quantum's end once none is: the next command
then lands at a board time fixed by what came before, and two runs with the
same seed see the same board.

Heartbeats from the host do not run the clock (the host answers each of the
board's heartbeats, whenever it gets to it): they reach the board at the next
quantum, and only move its link-loss timer.
"""

from __future__ import annotations

from lunasample.firmware.sampler import proto

# Virtual time granted at once: the board runs up to this past a command's
# reply before it is held (~2 ms of real time unpaced).
QUANTUM_US = 50_000


class CommandGate:
    """Which of the host's commands are still in progress, from the wire's bytes."""

    def __init__(self) -> None:
        self.pending: set[int] = set()
        self._in = bytearray()
        self._out = bytearray()

    def host_sent(self, data: bytes) -> None:
        """Bytes on their way to the board: each command frame is pending until answered."""
        for seq, mtype, _ in _frames(self._in, data):
            if mtype != "HB":
                self.pending.add(seq)

    def board_sent(self, data: bytes) -> None:
        """Bytes from the board: a final reply ends its command."""
        for _, mtype, fields in _frames(self._out, data):
            if mtype not in ("ACK", "NAK", "DONE"):
                continue
            if mtype == "ACK" and fields.get("ack") == "acc":
                continue  # accepted: DONE follows
            try:
                self.pending.discard(int(fields.get("re", "")))
            except ValueError:
                pass  # a NAK for a frame too damaged to name: the host resends it

    def reset(self) -> None:
        """The board rebooted: it forgot every command in progress."""
        self.pending.clear()
        self._in.clear()
        self._out.clear()

    @property
    def busy(self) -> bool:
        return bool(self.pending)


def _frames(buf: bytearray, data: bytes) -> list[tuple[int, str, dict[str, str]]]:
    """Complete, valid frames in ``buf`` + ``data``; keeps the unfinished line in ``buf``."""
    buf += data
    out = []
    while True:
        i = buf.find(b"\n")
        if i < 0:
            if len(buf) > 4 * proto.MAX_FRAME:
                del buf[: -proto.MAX_FRAME]
            return out
        line = bytes(buf[: i + 1])
        del buf[: i + 1]
        start = line.find(b"$")
        if start < 0:
            continue
        try:
            out.append(proto.decode(line[start:]))
        except proto.FrameError:
            continue
