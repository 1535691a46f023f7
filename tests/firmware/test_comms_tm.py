"""Telemetry on the board: one packed frame per sample, its layout from
TMRATE's selection, answered commands and the frame's seqs in order, and no
commands left waiting for a later tick (run in the micropython binary)."""

from __future__ import annotations

import json

from lunasample.firmware.sampler import packed, proto
from tests.conftest import run_micropython

SCRIPT = """
import json
from sampler import comms, safety
class Line:
    def __init__(self, rx=b""):
        self.out = []
        self.rx = rx
        self.i = 0
    def write(self, b):
        self.out.append(bytes(b).decode())
    def read(self):
        self.i += 1
        return self.rx[self.i - 1] if self.i <= len(self.rx) else -1
line = Line(%r)
c = comms.Comms(line, safety.Safety())
c._next_hb = 1 << 28  # no heartbeat in the way
c.register("PING", lambda seq, f: (("n", int(f["n"])),))
c.tm_sources.append(lambda out: out.extend((("dr", 120), ("di", -3), ("zz", 1))))
c.tm_sources.append(lambda out: out.extend((("mass", 1234567), ("st", 2))))
sels = [c.tm_select(), c.tm_select(%r)]
c.tm_period_ms = 10
for now in (4242, 4246, 4252, 4262):
    c.service(now)
print(json.dumps([sels, line.out]))
"""


def _run(rx: bytes = b"", sel: str = ">") -> tuple[list[str], list[str]]:
    r = run_micropython(SCRIPT % (rx, sel), heap_kb=128)
    assert r.returncode == 0, r.stdout + r.stderr
    sels, out = json.loads(r.stdout)
    return sels, out


def test_a_sample_is_one_packed_frame_in_the_selected_layout() -> None:
    sels, out = _run(sel="D")  # dr only
    d = {"t": ">", "dr": "D", "di": "E", "mass": "N", "st": "?"}  # chr(62 + id)
    # Unknown keys (zz) are left out; t leads; the rest in the sources' order.
    assert sels[0] == d["t"] + d["dr"] + d["di"] + d["mass"] + d["st"]
    assert sels[1] == d["t"] + d["dr"]
    frames = [proto.decode(f.encode()) for f in out]
    assert [s for s, _, _ in frames] == list(range(len(frames)))
    assert [t for _, t, _ in frames] == ["TM"] * 3  # 4242, 4252, 4262: every 10 ms
    assert [packed.unpack(f["v"]) for _, _, f in frames] == [[4242, 120], [4252, 120], [4262, 120]]


def test_every_waiting_command_is_answered_in_one_pass() -> None:
    rx = b"".join(proto.encode(i, "PING", {"n": i}) for i in range(6))
    _, out = _run(rx)
    frames = [proto.decode(f.encode()) for f in out]
    acks = [f for _, t, f in frames if t == "ACK"]
    assert [int(f["n"]) for f in acks] == list(range(6))
    # All six were answered before the first sample went out.
    assert [t for _, t, _ in frames][:7] == ["ACK"] * 6 + ["TM"]
