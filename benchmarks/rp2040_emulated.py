"""The control tick and the loop on an emulated RP2040: the firmware as it is
flashed to a Pico, run by MicroPython's own rp2 port on rp2040js (a
Cortex-M0+ with the M0+'s instruction timings, at 125 MHz), timed by the
board's own clock. Where bench_control.py prices the tick with one bytecode
ratio, this runs it, viper and native code, PIO and all.

    python benchmarks/rp2040_emulated.py --uf2 RPI_PICO.uf2 --bootrom bootrom.ts

Needs Node.js and npm (rp2040js is installed into benchmarks/rp2040/ on the
first run), a MicroPython UF2 for the Raspberry Pi Pico (micropython.org's
RPI_PICO download, 1.23 or newer) and the RP2040 B1 bootrom (rp2040js's
demo/bootrom.ts, or a 16 KB binary). benchmarks/rp2040/run.js is the board:
it bridges the Pico's USB serial to a TCP port, drives a drill motor's
encoder from its PWM and an 80 SPS HX711 on the board file's pins, and clocks the PIO
state machines from the CPU's cycles. The steps:

1. `lunasample flash` installs the firmware over socket://, as on a board.
2. The published integer-addition loop (bench_control.py's baseline:
   7,984 ms per 1e6 on a Pico) is timed on the emulated board: the ratio
   of the two says how far the emulation's timing is from a real Pico's.
3. benchmarks/rp2040/probe.py builds the firmware's app on the board and
   times the schedule's ticks and the service phase, Loop.run's way, in the
   busiest stretch (the drill feeding under speed control while the three
   joints slew to a scoop site) and over the scoop's following ticks.
4. Loop.run itself, paced at the period, for --paced more ticks: the
   loop's own overrun count and worst control step (STATUS `ovr`, `worst`).

Not one of run_all.py's bench_*.py: it needs the UF2 and the bootrom,
which this tree does not carry. The emulated board's clock is its own, so
the host's load does not enter the figures; where the probe starts in the
telemetry and HX711 cycles does, and moves the service phase's figures by
10-15 % from run to run (the control tick's by 2-5 %).

The emulation does not model the flash's XIP cache misses or bus
contention; a Pico on the bench settles those (STATUS `worst`).

Last line: rp2040_emu_calib=<c> emu_step_us=<s> emu_step_pct_rp2040_1khz=<b>
emu_mean_pct_rp2040_1khz=<m> emu_worst_tick_us=<w> emu_service_us=<v>
emu_loop_pct_rp2040_1khz=<l> emu_overruns_per_1000=<o> emu_paced_worst_us=<p>
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench_control import ADD_LOOP, ADD_LOOP_MS_1E6
from common import figures_line, machine, write_result

from lunasample.errors import UserError
from lunasample.flashing import flash

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "rp2040"
PUBLISHED_ADD_MS_1E6 = ADD_LOOP_MS_1E6["rp2040"]
TIME_ADD_LOOP = (
    ADD_LOOP
    + """
import time
best = 1 << 30
for _ in range(3):
    t0 = time.ticks_us()
    add_loop([20000, 12345678, 56781234])
    best = min(best, time.ticks_diff(time.ticks_us(), t0))
print("ADD", best * 50)
"""
)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_board(
    uf2: Path, bootrom: Path, port: int, pins: dict[str, int], log: Path
) -> subprocess.Popen[bytes]:
    """The emulated Pico (run.js), once it listens on `port`."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise UserError("rp2040_emulated: Node.js and npm are needed (https://nodejs.org)")
    if not (RUNNER / "node_modules" / "rp2040js").is_dir():
        print("installing rp2040js into benchmarks/rp2040/ ...", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=RUNNER, check=True)
    cmd = [
        "node",
        "run.js",
        "--uf2",
        str(uf2),
        "--bootrom",
        str(bootrom),
        "--port",
        str(port),
        "--drill",
        f"{pins['drill_pwm']},{pins['drill_dir']},{pins['drill_enc_a']},{pins['drill_enc_b']}",
        "--hx711",
        f"{pins['hx711_sck']},{pins['hx711_dout']}",
    ]
    proc = subprocess.Popen(cmd, cwd=RUNNER, stdout=subprocess.PIPE, stderr=log.open("wb"))
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("listening"):
        proc.kill()
        raise UserError(
            f"rp2040_emulated: the emulated board did not start: "
            f"{log.read_text().strip().splitlines()[-1:] or line}"
        )
    return proc


def on_board(url: str, source: str, timeout: float) -> str:
    """Run `source` on the board with mpremote; its output."""
    r = subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", url, "exec", source],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if r.returncode != 0:
        raise UserError(f"rp2040_emulated: on the board: {(r.stdout + r.stderr).strip()[-500:]}")
    return r.stdout


def figures(probe: dict[str, object], add_ms: float) -> dict[str, float]:
    """The headline figures from the probe's sums (control and service us,
    with the clock's own span a tick taken out of the control tick)."""
    busy, rest = probe["busy"], probe["rest"]
    nb, nr = float(probe["busy_ticks"]), float(probe["rest_ticks"])
    assert isinstance(busy, list) and isinstance(rest, list)
    period = 1e6 / float(probe["loop_hz"])  # type: ignore[arg-type]
    step = (busy[0] - busy[4]) / nb
    mean = (rest[0] - rest[4]) / nr
    loop = (busy[0] + busy[2] - 2 * busy[4]) / nb
    return {
        "rp2040_emu_calib": add_ms / PUBLISHED_ADD_MS_1E6,
        "emu_step_us": step,
        "emu_step_pct_rp2040_1khz": 100 * step / period,
        "emu_mean_pct_rp2040_1khz": 100 * mean / period,
        "emu_worst_tick_us": float(busy[1]),
        "emu_service_us": (busy[2] - busy[4]) / nb,
        "emu_loop_pct_rp2040_1khz": 100 * loop / period,
        "emu_overruns_per_1000": 1000
        * float(probe["overruns"])  # type: ignore[arg-type]
        / max(float(probe["paced_ticks"]), 1.0),  # type: ignore[arg-type]
        "emu_paced_worst_us": float(probe["paced_worst_us"]),  # type: ignore[arg-type]
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--uf2", type=Path, required=True, help="MicroPython UF2 for RPI_PICO")
    ap.add_argument(
        "--bootrom",
        type=Path,
        required=True,
        help="RP2040 B1 bootrom (rp2040js demo/bootrom.ts or a 16 KB binary)",
    )
    ap.add_argument("--busy", type=int, default=400, help="ticks timed in the busiest stretch")
    ap.add_argument("--rest", type=int, default=2000, help="ticks timed after it")
    ap.add_argument(
        "--paced",
        type=int,
        default=3000,
        help="ticks of Loop.run itself after those, paced at the period",
    )
    a = ap.parse_args()
    for what, p in (("UF2", a.uf2), ("bootrom", a.bootrom)):
        if not p.is_file():
            raise UserError(f"rp2040_emulated: {what} not found: {p}")
    board = json.loads((HERE.parent / "boards" / "rpi_pico.json").read_text())
    port = free_port()
    url = f"socket://127.0.0.1:{port}"
    log = Path("rp2040-board.log").resolve()
    proc = start_board(a.uf2.resolve(), a.bootrom.resolve(), port, board["pins"], log)
    try:
        t0 = time.monotonic()
        hello = flash(url, "rpi_pico")
        print(
            f"flashed the emulated Pico: firmware {hello.firmware if hello else '?'} "
            f"({time.monotonic() - t0:.0f} s)",
            flush=True,
        )
        out = on_board(url, TIME_ADD_LOOP, 600)
        add_ms = float(out.split("ADD", 1)[1].split()[0]) / 1000
        src = (RUNNER / "probe.py").read_text()
        for name, v in (("BUSY", 400), ("REST", 2000), ("PACED", 3000)):
            src = src.replace(f"{name} = {v}", f"{name} = {getattr(a, name.lower())}")
        probe = json.loads(on_board(url, src, 3600).strip().splitlines()[-1])
    finally:
        proc.kill()
    f = figures(probe, add_ms)
    if not probe["feeding"] or probe["fault"]:
        raise UserError(
            f"rp2040_emulated: the drill was not feeding (phase "
            f"{probe['drill_phase']}, fault {probe['fault']}): the busiest "
            "stretch was not reached"
        )
    print(
        f"integer-addition loop: {add_ms:.0f} ms per 1e6 on the emulated Pico, published "
        f"{PUBLISHED_ADD_MS_1E6:.0f} ms on a Pico (x{f['rp2040_emu_calib']:.3f})"
    )
    print(
        f"control tick, busiest: {f['emu_step_us']:.1f} us = "
        f"{f['emu_step_pct_rp2040_1khz']:.2f} % of 1 ms (worst tick {f['emu_worst_tick_us']:.0f}"
        f" us); over the next {a.rest} ticks {f['emu_mean_pct_rp2040_1khz']:.2f} %"
    )
    print(
        f"service phase {f['emu_service_us']:.0f} us a tick; whole loop "
        f"{f['emu_loop_pct_rp2040_1khz']:.1f} % of 1 ms"
    )
    print(
        f"Loop.run paced at 1 kHz for {probe['paced_ticks']} ticks: {probe['overruns']} "
        f"overruns, worst control step {probe['paced_worst_us']} us"
    )
    path = write_result({"bench": "rp2040", "machine": machine(), "probe": probe, "figures": f})
    print(f"saved {path}")
    print(figures_line(f))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        sys.exit(str(e))
