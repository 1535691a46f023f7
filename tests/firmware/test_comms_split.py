"""Telemetry is built over ticks, in their slack, and sent when complete
(with the unix port's speed, a whole source a tick); a sample larger than
one frame goes out as several, each within MAX_FRAME and led by the same
time field, and the board's frames keep their seqs in order while
other frames go out in between (run in the micropython binary)."""

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
        self.out.append(bytes(b))  # a line takes the bytes as they are written
    def read(self):
        return -1
cap = Cap()
c = comms.Comms(cap, safety.Safety())
c._next_hb = 1 << 28  # no heartbeat in the way
def src(lo, hi):
    def tm(out):
        for i in range(lo, hi):
            out.append(("k%d" % i, 1234567890 + i if i % 3 else "v%d" % i))
    return tm
c.tm_sources += [src(0, 15), src(15, 16), src(16, 40)]
c.tm_period_ms = 100
ticks = []
for now in range(4242, 4252):
    c.service(now)
    ticks.append(len(cap.out))
    c.event((("kind", "x"), ("n", now)))  # a frame between telemetry ticks
print(json.dumps([[b.decode() for b in cap.out], ticks]))
"""


def test_big_telemetry_is_built_over_ticks_and_split_into_valid_frames() -> None:
    r = run_micropython(SCRIPT, heap_kb=128)  # compiling the source, viper included, takes heap
    assert r.returncode == 0, r.stdout + r.stderr
    out, ticks = json.loads(r.stdout)
    frames = [proto.decode(f.encode()) for f in out]
    assert all(len(f) <= proto.MAX_FRAME for f in out)
    # The board's seqs run on without a gap, telemetry frames included.
    assert [s for s, _, _ in frames] == list(range(len(frames)))
    tm = [f for _, t, f in frames if t == "TM"]
    assert len(tm) >= 3 and all(f["t"] == "4242" for f in tm)
    merged: dict[str, str] = {}
    for f in tm:
        merged.update(f)
    want = {f"k{i}": str(1234567890 + i) if i % 3 else f"v{i}" for i in range(40)}
    assert merged == {"t": "4242", **want}
    # Started at the first tick, a whole source a tick: the last frame went out
    # at the third tick after it (one event a tick in between).
    tm_seqs = [s for s, t, _ in frames if t == "TM"]
    assert ticks[0] == 0 and tm_seqs[-1] < ticks[3] and frames[ticks[3]][1] == "EV"


SLACK = """
import json, time
from sampler import comms, safety
class Cap:
    def __init__(self):
        self.out = []
    def write(self, b):
        self.out.append(bytes(b).split(b",")[1].decode())  # the frame's type
    def read(self):
        return -1
cap = Cap()
c = comms.Comms(cap, safety.Safety())
c.tm_sources.append(lambda out: out.extend((("k%d" % i, i) for i in range(8))))
c.tm_period_ms = 100
log = []
def tick(now_ms, used_us):
    # A tick of 1000 us whose control step and subsystem turn took used_us.
    c.service(now_ms, time.ticks_add(time.ticks_us(), -used_us), 1000)
    log.append(list(cap.out))
    cap.out.clear()
for now in range(0, 150):
    tick(now, 950)  # no slack at all: only a late heartbeat goes
for now in range(150, 160):
    tick(now, 0)  # idle ticks: telemetry and the heartbeat go
print(json.dumps(log))
"""


def test_heartbeat_and_telemetry_wait_for_slack_in_the_tick() -> None:
    r = run_micropython(SLACK, heap_kb=128)
    assert r.returncode == 0, r.stdout + r.stderr
    log = json.loads(r.stdout)
    sent = [(i, t) for i, frames in enumerate(log) for t in frames]
    # Ticks with no slack build no telemetry; the heartbeat, due at 0, goes
    # once it is 100 ms late. The first tick with room opens the sample,
    # the next adds its source's fields and sends it.
    assert [(i, t) for i, t in sent if i < 150] == [(100, "HB")]
    assert [(i, t) for i, t in sent if i >= 150] == [(151, "TM")]
