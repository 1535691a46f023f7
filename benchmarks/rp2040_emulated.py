"""The control tick and the loop on an emulated RP2040: the firmware as it is
flashed to a Pico, run by MicroPython's own rp2 port on rp2040js (a
Cortex-M0+ with the M0+'s instruction timings, at 125 MHz), timed by the
board's own clock. Where bench_control.py prices the tick with one bytecode
ratio, this runs it, viper and native code, PIO and all.

    python benchmarks/rp2040_emulated.py [--uf2 RPI_PICO.uf2 --bootrom bootrom.bin]

Needs Node.js and npm (lunasample.emulator.rp2040js installs rp2040js into
~/.cache/lunasample/rp2040js on first use), a MicroPython UF2 for the
Raspberry Pi Pico and the RP2040 B1 bootrom (default: $LUNASAMPLE_PICO_UF2,
$LUNASAMPLE_PICO_BOOTROM, else ../shared/rp2040/). The board is
lunasample/emulator/pico/run.js, the same one tests/pico and `lunasample
emulate --engine rp2040js` use: it bridges the Pico's USB serial to a TCP
port, drives a drill motor's encoder from its PWM and an 80 SPS HX711 on the
board file's pins, clocks the PIO state machines from the CPU's cycles and
watches the outputs' edges. The steps:

1. `lunasample flash` installs the firmware over socket://, as on a board.
2. The published integer-addition loop (bench_control.py's baseline:
   7,984 ms per 1e6 on a Pico) is timed on the emulated board: the ratio
   of the two says how far the emulation's timing is from a real Pico's.
3. benchmarks/rp2040/probe.py builds the firmware's app on the board and
   times the schedule's ticks and the service phase, Loop.run's way, in the
   busiest stretch (the drill feeding under speed control while the three
   joints slew to a scoop site) and over the scoop's following ticks.
4. The control tick on its timer interrupt with the soft loop beside it
   (Loop.start, Loop.run), as main() runs them, for --paced more ticks
   (100,000 for the recorded figure) while the drill feeds and the arm
   scoops, one scoop after another: the loop's own overrun count and worst
   control step (STATUS `ovr`, `worst`), the tick's start lateness against
   its grid (Loop.late's histogram: least, p99.99, most) and the control
   period's jitter: the p99.99 lateness less the least, which is the fixed
   cost of entering the alarm interrupt and calling the Python callback.
5. The firmware as main.py starts it, the drill spinning at 120 rpm: the
   e-stop contact opens, and the time until every PWM and STEP output is
   low for good, on the board's clock.

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
late_p9999_us=<lp> late_min_us=<lm> jitter_p9999_us=<j> estop_to_outputs_off_us=<e>
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from bench_control import ADD_LOOP, ADD_LOOP_MS_1E6
from common import figures_line, machine, write_result

from lunasample import paths
from lunasample.emulator import rp2040js
from lunasample.emulator.rp2040js import PicoBoard, outputs_off_after
from lunasample.errors import UserError
from lunasample.flashing import flash, wake_and_hello
from lunasample.link.client import Link

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "rp2040"
PUBLISHED_ADD_MS_1E6 = ADD_LOOP_MS_1E6["rp2040"]
# The probe declares the arm homed at 0 without homing it: the plant's
# joints start there too, so that their home switches open where the
# firmware's limits put them.
PROBE_ARM_AT = {"j1": 0, "j2": 0, "j3": 0}
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


def board_wait(pico: PicoBoard, ms: float, guard_s: float = 300) -> None:
    """Wait until `ms` have passed on the board's clock."""
    t0 = pico.stats()["ns"]
    end = time.monotonic() + guard_s
    while (pico.stats()["ns"] - t0) / 1e6 < ms:
        if time.monotonic() > end:
            raise UserError(f"rp2040_emulated: the emulated Pico did not run {ms} ms")
        time.sleep(0.1)


def estop_to_outputs_off_us(pico: PicoBoard, url: str, board: dict) -> float:
    """The firmware as main.py runs it, the drill spinning: the e-stop
    contact opens; us on the board's clock until every output is low."""
    wake_and_hello(url)
    with Link(url) as lk:
        lk.command("HBTO", ms=60000)
        lk.command("ARM")
        lk.command("SPIN", rpm=120)
        board_wait(pico, 300)
        t_edge = pico.set_input(board["pins"]["estop"], 1)
        board_wait(pico, 50)
        off = outputs_off_after(board, pico.stats(), t_edge)
        pico.set_input(board["pins"]["estop"], 0)
    if off is None:
        raise UserError("rp2040_emulated: an output still high 50 ms after the e-stop opened")
    return off / 1000


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
    late = float(probe["late_p9999_us"])  # type: ignore[arg-type]
    least = float(probe["late_min_us"])  # type: ignore[arg-type]
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
        # The control tick's start lateness against its grid (the probe's
        # Loop.late histogram): its p99.99, and the jitter, how far that is
        # above the least lateness seen, the fixed cost of entering the
        # alarm interrupt and calling the Python callback.
        "late_p9999_us": late,
        "late_min_us": least,
        "jitter_p9999_us": late - least,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--uf2",
        type=Path,
        default=rp2040js.find_image(rp2040js.UF2_ENV),
        help=f"MicroPython UF2 for RPI_PICO (default: ${rp2040js.UF2_ENV} or "
        "../shared/rp2040/RPI_PICO.uf2)",
    )
    ap.add_argument(
        "--bootrom",
        type=Path,
        default=rp2040js.find_image(rp2040js.BOOTROM_ENV),
        help="RP2040 B1 bootrom, rp2040js demo/bootrom.ts or a 16 KB binary (default: "
        f"${rp2040js.BOOTROM_ENV} or ../shared/rp2040/bootrom.bin)",
    )
    ap.add_argument("--busy", type=int, default=400, help="ticks timed in the busiest stretch")
    ap.add_argument("--rest", type=int, default=2000, help="ticks timed after it")
    ap.add_argument(
        "--paced",
        type=int,
        default=100_000,
        help="ticks of the timer-driven tick and the soft loop after those (~30 min of wall time "
        "for the default on 2 cores)",
    )
    a = ap.parse_args()
    for what, p in (("UF2", a.uf2), ("bootrom", a.bootrom)):
        if p is None:
            raise UserError(f"rp2040_emulated: no {what}: {rp2040js.missing_reason()}")
        if not p.is_file():
            raise UserError(f"rp2040_emulated: {what} not found: {p}")
    board = paths.load_board("rpi_pico")
    log = Path("rp2040-board.log").resolve()
    with (
        log.open("wb") as err,
        PicoBoard(board, a.uf2, a.bootrom, stderr=err, start=PROBE_ARM_AT) as pico,
    ):
        url = pico.url
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
        estop_us = estop_to_outputs_off_us(pico, url, board)
    f = figures(probe, add_ms)
    f["estop_to_outputs_off_us"] = estop_us
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
        f"the tick on its timer at 1 kHz, the soft loop beside it, for {probe['paced_ticks']} "
        f"ticks ({probe['paced_scoops']} scoops done, the drill feeding): "
        f"{probe['overruns']} overruns, worst control step {probe['paced_worst_us']} us, start "
        f"lateness {probe['late_min_us']}-{probe['late_max_us']} us, p99.99 "
        f"{probe['late_p9999_us']} us (jitter {f['jitter_p9999_us']:.0f} us)"
    )
    path = write_result(
        {"bench": "rp2040", "mode": "full", "machine": machine(), "probe": probe, "figures": f}
    )
    print(f"saved {path}")
    print(figures_line(f))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        sys.exit(str(e))
