"""Firmware discipline: the core fits the 64 KB heap, and the control step of
the whole firmware allocates nothing (micropython.heap_lock)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from lunasample import paths
from lunasample.emulator.board import SIM_HEAP_KB, WORD_RATIO
from lunasample.mpy import install_firmware


def _run(script: str, cwd: Path, heap_kb: int) -> subprocess.CompletedProcess[str]:
    # The firmware as it goes on a board: the package compiled with mpy-cross.
    fw = cwd / "fw"
    install_firmware(fw, "x64")
    env = dict(os.environ, MICROPYPATH=f"{paths.SIM_DIR}:{fw}")
    # stdin stays open (a pipe) like a serial line with nobody typing.
    p = subprocess.Popen(
        [paths.micropython_binary(), "-X", f"heapsize={heap_kb}K", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stderr is not None and p.stdin is not None
    out, err = p.stdout.read(), p.stderr.read()
    p.wait(timeout=120)
    p.stdin.close()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _board_dir(tmp_path: Path, subsystems: list[str]) -> Path:
    board = paths.load_board("emulator")
    board["subsystems"] = subsystems
    (tmp_path / "board.json").write_text(json.dumps(board))
    return tmp_path


CORE_LOOP = """
import gc, time, machine  # the board's "ROM" modules, imported first as emu_boot.py does
gc.collect()  # as main.py does before the firmware's imports
from sampler import app
ctx, loop = app.build()
n = [0]
def soft():
    ctx.comms.service(time.ticks_ms())
    n[0] += 1
    if n[0] >= 3000:
        loop.running = False
    return False
loop.start((None,))  # the control tick with no control work: the link alone
loop.run(soft)
loop.stop()
gc.collect()
print("ticks", n[0], "free", gc.mem_free(), "alloc", gc.mem_alloc(), "hard", loop.ticks)
"""


SIM_ONLY = """
import gc, time, machine  # the simulated "ROM" alone, as CORE_LOOP starts
gc.collect()
print("sim", gc.mem_alloc())
"""


def test_core_firmware_runs_in_a_64k_heap(tmp_path: Path) -> None:
    # On a board machine and time live in ROM; here the simulated ones share
    # the heap, so the heap is 64 KB plus what they take, measured first.
    board_dir = _board_dir(tmp_path, [])
    sim = _run(SIM_ONLY, board_dir, heap_kb=256)
    assert sim.returncode == 0, sim.stderr
    sim_kb = -(-int(sim.stdout.split()[-1]) // 1024)
    r = _run(CORE_LOOP, board_dir, heap_kb=64 + sim_kb)
    assert r.returncode == 0, r.stderr
    words = r.stdout.strip().splitlines()[-1].split()
    assert words[0] == "ticks" and int(words[1]) == 3000
    assert int(words[3]) > 0
    assert int(words[7]) >= 500  # the timer's tick ran beside the soft passes


HEAP_LOCK = """
import micropython, time
from sampler import app
ctx, loop = app.build()
steppers = [s for s in ctx.sub.values() if hasattr(s, "step")]
assert ctx.safety.arm()
def control(now):
    for s in steppers:
        s.step(now)
errors = 0
for i in range(5000):
    now = time.ticks_us()
    micropython.heap_lock()
    try:
        control(now)
    except MemoryError:
        errors += 1
    micropython.heap_unlock()
    time.sleep_us(1000)
print("steps", i + 1, "steppers", len(steppers), "alloc_errors", errors)
"""


def test_full_control_step_allocates_nothing(tmp_path: Path) -> None:
    board = paths.load_board("emulator")
    heap = board["heap_kb"] * WORD_RATIO + SIM_HEAP_KB  # as the emulator sizes it
    r = _run(HEAP_LOCK, _board_dir(tmp_path, board["subsystems"]), heap_kb=heap)
    assert r.returncode == 0, r.stderr
    words = r.stdout.strip().splitlines()[-1].split()
    assert words[1] == "5000" and words[-1] == "0", r.stdout
    assert int(words[3]) >= 3  # scale, drill and arm at least step in the loop


CORE_TM_MEM = """
import json, time
from sampler import app, safety
ctx, loop = app.build()
core_tm = ctx.comms.tm_sources[-1]
def mem():
    out = []
    core_tm(out)
    return dict(out)["mem"]
keep = []
seen = []
for state, n in ((safety.SAFE, 1), (safety.BUSY, 25), (safety.SAFE, 25)):
    ctx.safety.state = state
    vals = []
    for i in range(n):  # 10 Hz telemetry, the heap shrinking
        keep.append(bytearray(512))
        vals.append(mem())
        time.sleep_ms(100)
    seen.append(vals)
print(json.dumps(seen))
"""


def test_heap_walk_runs_once_a_second_busy_or_not(tmp_path: Path) -> None:
    # gc.mem_free() walks the heap (~8 ms on an RP2040): the core's TM
    # "mem" refreshes once a second, in a job too (the control tick runs on
    # its interrupt, the walk in the soft loop).
    r = _run(CORE_TM_MEM, _board_dir(tmp_path, []), 256)
    assert r.returncode == 0, r.stdout + r.stderr
    before, busy, safe = json.loads(r.stdout)
    seen = before + busy + safe
    assert len(set(busy) - set(before)) >= 2  # every 10 samples, in the job too
    assert len(set(safe) - set(busy)) >= 2
    assert seen == sorted(seen, reverse=True)  # the heap shrinking
