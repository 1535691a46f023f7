"""Telemetry larger than one frame is sent as several, each within MAX_FRAME
and led by the same time field (run in the micropython binary)."""

from __future__ import annotations

import json

from lunasample.firmware.sampler import proto
from tests.conftest import run_micropython

SCRIPT = """
import json
from sampler import comms, safety
class Cap:
    def __init__(self):
        self.out = []
    def write(self, b):
        self.out.append(b)
    def read(self):
        return -1
cap = Cap()
c = comms.Comms(cap, safety.Safety())
fields = [("t", 4242)] + [("k%d" % i, 1234567890 + i) for i in range(40)]
c._send_split("TM", fields)
print(json.dumps([b.decode() for b in cap.out]))
"""


def test_big_telemetry_is_split_into_valid_frames() -> None:
    r = run_micropython(SCRIPT)
    assert r.returncode == 0, r.stderr
    frames = [f.encode() for f in json.loads(r.stdout)]
    assert len(frames) >= 3
    merged: dict[str, str] = {}
    for f in frames:
        assert len(f) <= proto.MAX_FRAME
        _seq, mtype, fields = proto.decode(f)
        assert mtype == "TM" and fields["t"] == "4242"
        merged.update(fields)
    assert merged == {"t": "4242", **{f"k{i}": str(1234567890 + i) for i in range(40)}}
