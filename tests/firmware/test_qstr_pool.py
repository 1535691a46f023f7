"""The link's and the journal's character loops intern nothing: MicroPython
interns every 1-character string a str iteration yields, and a new one can
make the interpreter grow its qstr pool (several KB in one block) hours into
a run, when the heap may not have it (run in the micropython binary)."""

from __future__ import annotations

import re

from tests.conftest import run_micropython

SCRIPT = r"""
import micropython
from sampler import journal, proto
micropython.qstr_info()
# Built from bytes: chr() or indexing would intern the characters here.
proto.clean(bytes(range(128)).decode())
for i in range(128):
    try:
        proto.encode(1, "EV", (("msg", bytes([i]).decode()),))
    except ValueError:
        pass  # not printable: refused, after the check walked it
    try:
        proto.decode(b"$1,EV,k=" + bytes([i]) + b"*0000")
    except proto.FrameError:
        pass
    try:
        journal._word(bytes([i]).decode(), "site")
    except ValueError:
        pass
journal._sid(bytes(range(128)).decode())
micropython.qstr_info()
"""


def test_character_loops_intern_no_new_qstr() -> None:
    r = run_micropython(SCRIPT, heap_kb=256)
    assert r.returncode == 0, r.stdout + r.stderr
    counts = [int(n) for n in re.findall(r"n_qstr=(\d+)", r.stdout)]
    assert len(counts) == 2 and counts[0] > 0
    assert counts[1] == counts[0], counts
