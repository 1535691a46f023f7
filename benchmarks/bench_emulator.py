"""The emulator's speed factor: virtual seconds per real second, unpaced (speed 0).

For each board file, the real firmware runs on an emulated board with the
firmware idle (the 1 kHz loop with nothing to do), then busy: drilling
(feed + speed loop) and the arm scooping, when HELLO's caps list the drill
and the arm. The virtual clock is read from the emulator (`query()`), the
real one here.

Baseline, measured in the same run: a bare MicroPython loop of
`time.sleep_us(1000)` calls on the same simulated time module (the same
virtual clock, timers and control-channel polls), once without plants and
once with the board's plants attached. The firmware's figure divided by the
bare loop's is the share of the unix port's speed the firmware leaves.

Last line: emu_speed_idle=<x> emu_speed_busy=<y>
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import figures_line, fmt_ratio, ratio

from lunasample import paths
from lunasample.emulator.board import PLANTS, EmulatedBoard
from lunasample.link.client import Link

BOARDS = ("emulator", "rpi_pico", "esp32_devkitc")

BARE_LOOP = r"""
import json, utime
import simworld
b = json.loads(%(board)r)
cfg = {"pins": b["pins"], "seed": 1, "speed": 0}
simworld.setup(cfg)
for name in %(plants)r:
    __import__(name).attach(cfg)
import time
n = 0
t0 = utime.ticks_us()
v0 = simworld.vt_us
while utime.ticks_diff(utime.ticks_us(), t0) < %(us)d:
    for _ in range(100):
        time.sleep_us(1000)
    n += 100
real = utime.ticks_diff(utime.ticks_us(), t0)
print("BARE", (simworld.vt_us - v0) / real, n)
"""


def bare_speed(board: str, plants: tuple[str, ...], seconds: float) -> float:
    """Virtual s per real s of a loop of sleep_us(1000) on the simulated clock."""
    script = BARE_LOOP % {
        "board": json.dumps(paths.load_board(board)),
        "plants": list(plants),
        "us": int(seconds * 1e6),
    }
    env = dict(os.environ, MICROPYPATH=str(paths.SIM_DIR))
    r = subprocess.run(
        [paths.micropython_binary(), "-X", "heapsize=256K", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    words = r.stdout.split()
    if r.returncode != 0 or not words or words[0] != "BARE":
        sys.exit(f"bare loop failed:\n{r.stdout}{r.stderr}")
    return float(words[1])


def window(b: EmulatedBoard, seconds: float) -> float:
    """Virtual seconds per real second over the next `seconds` of real time."""
    t0, q0 = time.monotonic(), b.query()["t_us"]
    time.sleep(seconds)
    t1, q1 = time.monotonic(), b.query()["t_us"]
    return (q1 - q0) / 1e6 / (t1 - t0)


def board_speeds(board: str, seconds: float, workdir: Path) -> dict[str, float]:
    """Speed factors of one board: idle, drilling, scooping (as its caps allow)."""
    out: dict[str, float] = {}
    with EmulatedBoard(board=board, speed=0, fs_dir=workdir / board) as b, Link(b.url) as lk:
        assert lk.hello is not None
        caps = set(lk.hello.caps)
        lk.command("HBTO", ms=60000)
        time.sleep(0.3)  # past boot
        out["idle"] = window(b, seconds)
        if "drill" in caps:
            lk.command("ARM")
            lk.command("DRILL", depth=2000)
            time.sleep(0.5)  # past homing and spin-up, into feeding
            out["drill"] = window(b, seconds)
            lk.command("STOP")
        if "arm" in caps:
            lk.command("ARM")
            lk.run("HOME", 300)
            lk.command("SCOOP", site=1)
            time.sleep(0.2)
            out["arm"] = window(b, seconds)
            lk.command("STOP")
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the emulator-speed benchmark; the last line is machine-readable."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter windows (CI)")
    ap.add_argument("--boards", nargs="+", default=list(BOARDS), help="board files to run")
    a = ap.parse_args(argv)
    secs = 1.0 if a.quick else 5.0
    if a.quick and a.boards == list(BOARDS):
        a.boards = ["emulator"]  # CI: one board file; the full run covers all
    plants = tuple(p for p in PLANTS if (paths.SIM_DIR / f"{p}.py").is_file())
    figures: dict[str, float] = {}
    idle: list[float] = []
    busy: list[float] = []
    bares: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-emu-") as tmp:
        for board in a.boards:
            bare = bare_speed(board, (), secs)
            with_plants = bare_speed(board, plants, secs)
            sp = board_speeds(board, secs, Path(tmp))
            print(
                f"{board}: bare sleep_us(1000) loop {bare:.0f}x real time, with plants "
                f"{with_plants:.0f}x"
            )
            for k, v in sp.items():
                print(
                    f"  firmware {k:5}: {fmt_ratio(v, bare, 'x')} [bare loop], "
                    f"{ratio(v, with_plants):.3f} x the loop with plants"
                )
            idle.append(sp["idle"])
            busy.append(
                min(v for k, v in sp.items() if k != "idle") if len(sp) > 1 else sp["idle"]
            )
            bares.append(bare)
            figures[f"emu_idle_{board}"] = sp["idle"]
            figures[f"emu_busy_{board}"] = busy[-1]
            figures[f"emu_bare_{board}"] = bare
            figures[f"emu_plants_{board}"] = with_plants
    # The headline is the first board (the emulator's own, which CI runs);
    # the per-board figures follow it.
    last = {
        "emu_speed_idle": idle[0],
        "emu_speed_busy": busy[0],
        "emu_ratio_idle": ratio(idle[0], bares[0]),
        "emu_bare_speed": bares[0],
    }
    last.update(figures)
    print(figures_line(last))


if __name__ == "__main__":
    main()
