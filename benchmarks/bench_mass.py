"""Regolith mass error with the drill running: the firmware's own filter
(firmware/sampler/filters.py) on conversion streams from the emulated load
cell's noise model (host/lunasample/emulator/sim/plant_loadcell.py), both run
in the micropython binary.

Each trial: a fresh cell with the drill vibrating the pan, the empty container
tared on a settled reading, then a sample of 0-2 kg dropped in. The first
settled reading taken after it (the rule TARE and CAL use on the board:
settled, with a full filter window of conversions since the command) is
compared with the true mass. The in-run baseline is the error of the single
unfiltered conversion at the same instant. The filter's first average spans
whole drill turns, as the scale sets it from the drill's speed
(filters.turn_window); `fixed` is the same filter without the drill's speed.
The calibration (empty + 1 kg reference, drill stopped) is done once with the
same filter, as CAL does on the board.

    python benchmarks/bench_mass.py [--quick] [--rpm 200] [--sps 80] [--gravity moon]

--gravity earth|moon|<m/s^2>: where the trials weigh. The calibration is
always made at standard gravity (a rig on Earth); on the Moon the cell sees
a sixth of the force and the firmware converts by the gravity ratio
(filters.local_factor, the grav_mm_s2 parameter).

The full run adds a sweep over drill speeds. Last line:
mass_error_p95_g=<x> settle_s=<y> (both 95th percentiles, at --rpm)
settle_worst_s=<z> (the worst settling p95 over the drill speeds from
37.5 rpm up: the sweep in a full run, --rpm alone with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from lunasample import paths

SCRIPT = """
import plant_loadcell
from sampler import filters
P = %(params)s
SPS = P["hx711_sps"]
PER_US = 100000 if SPS < 80 else 12500
WIN = PER_US / 1e6

def settle(cell, f, limit):
    # -> (filtered value, last raw conversion, conversions until settled or -1)
    n0 = f.count
    x = 0
    for i in range(limit):
        x = cell.convert(WIN, 128, SPS)
        f.push(x)
        if f.count - n0 >= f.window and f.settled:
            return f.value, x, i + 1
    return f.value, x, -1

def make_filter(k, rpm, kf=0):
    # k: the factor at the trials' gravity, kf at the calibration's, as the
    # scale converts them (step and spike are forces: kf; the band: k).
    kf = kf or k
    c = lambda mg, kk: filters.counts_for_mg(mg, kk) if kk and mg else mg
    f = filters.MassFilter(P["n_med"], P["n_avg"], P["n_sm"], c(P["step_mg"], kf),
                           c(P["band_mg"], k), c(P["spike_mg"], kf), filters.N_MAX)
    # As the scale does (scale.Scale._turns).
    if P["turns"]:
        n = filters.turn_window(PER_US, int(rpm * 10), P["n_avg"], filters.N_MAX)
        f.set_window(n, rpm >= 1 and n < filters.N_MAX)
        if rpm >= 1 and n == filters.N_MAX:
            f.set_span(n)
    else:
        f.set_span(max(P["n_avg"], filters.SPAN_BLIND))
    return f

limit = 10 * SPS  # 10 s
cell = plant_loadcell.Bridge({"drill_rpm": 0.0, "hx711_sps": SPS}, 1)
f = make_filter(0, 0)
raw0, _, _ = settle(cell, f, limit)
cell.configure({"extra_g": 1000.0})
raw1, _, _ = settle(cell, f, limit)
k_cal = filters.cal_factor(raw0, raw1, 1000000)
k = filters.local_factor(k_cal, 9807, P["grav_mm_s2"])
print("CAL", raw0, raw1, k_cal, k)
for rpm in P["rpms"]:
    for t in range(P["trials"]):
        cell = plant_loadcell.Bridge(
            {"drill_rpm": rpm, "hx711_sps": SPS, "gravity_m_s2": P["gravity_m_s2"]}, 1000 + t)
        f = make_filter(k, rpm, k_cal)
        for _ in range(2 * SPS):  # the drill has been running for a while
            f.push(cell.convert(WIN, 128, SPS))
        zero, _, _ = settle(cell, f, limit)  # TARE, empty container
        m = P["masses"][t]
        cell.configure({"extra_g": m})
        v, x, n = settle(cell, f, limit)
        mg = filters.mg_from_counts(v - zero, k)
        raw_mg = filters.mg_from_counts(x - zero, k)
        truth = int(round(cell.contents_g() * 1000))
        print("T", rpm, t, truth, mg - truth, raw_mg - truth, n, f.n_avg)
"""


EARTH_M_S2 = 9.80665
MOON_M_S2 = 1.62


def gravity(text: str) -> float:
    """--gravity: earth, moon or a figure in m/s^2."""
    named = {"earth": EARTH_M_S2, "moon": MOON_M_S2}
    if text in named:
        return named[text]
    try:
        g = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"earth, moon or m/s^2, got {text!r}") from None
    if not 1.0 <= g <= 25.0:
        raise argparse.ArgumentTypeError(f"gravity must be 1..25 m/s^2, got {g:g}")
    return g


def run(
    trials: int,
    rpms: list[float],
    sps: int,
    seed: int,
    turns: bool = True,
    med: int = 5,
    gravity_m_s2: float = EARTH_M_S2,
) -> dict[float, dict[str, float]]:
    """Run the trials in the micropython binary; summary figures per drill speed."""
    rng = np.random.default_rng(seed)
    masses = [round(float(x), 3) for x in rng.uniform(0.0, 2000.0, trials)]
    # The firmware's parameter defaults (sampler/scale.py).
    params = {
        "hx711_sps": sps,
        "rpms": rpms,
        "trials": trials,
        "masses": masses,
        "n_med": med,
        "n_avg": 16,
        "n_sm": 8,
        "step_mg": 5000,
        "band_mg": 500,
        "spike_mg": 10000,
        "turns": 1 if turns else 0,
        "gravity_m_s2": gravity_m_s2,
        "grav_mm_s2": int(round(gravity_m_s2 * 1000)),
    }
    env = dict(os.environ, MICROPYPATH=f"{paths.SIM_DIR}:{paths.FIRMWARE_DIR}")
    r = subprocess.run(
        [
            paths.micropython_binary(),
            "-X",
            "heapsize=1M",
            "-c",
            SCRIPT % {"params": json.dumps(params)},
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    if r.returncode != 0:
        sys.exit(f"bench_mass: micropython failed:\n{r.stdout}{r.stderr}")
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("T ")]
    out = {}
    for rpm in rpms:
        sel = [x for x in rows if float(x[1]) == rpm]
        err = np.array([abs(int(x[4])) for x in sel]) / 1000.0
        raw = np.array([abs(int(x[5])) for x in sel]) / 1000.0
        n = np.array([int(x[6]) for x in sel])
        settle_s = n[n >= 0] / float(sps)
        out[rpm] = {
            "trials": len(sel),
            "never_settled": int((n < 0).sum()),
            "window": int(sel[0][7]),
            "err_p95_g": float(np.percentile(err, 95)),
            "err_p50_g": float(np.median(err)),
            "err_max_g": float(err.max()),
            "raw_p95_g": float(np.percentile(raw, 95)),
            "raw_p50_g": float(np.median(raw)),
            "settle_p50_s": float(np.median(settle_s)) if len(settle_s) else float("inf"),
            "settle_p95_s": float(np.percentile(settle_s, 95)) if len(settle_s) else float("inf"),
        }
    return out


def main() -> int:
    """Print the tables and the headline line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="100 trials at --rpm only, instead of 2000 and a speed sweep",
    )
    ap.add_argument("--rpm", type=float, default=200.0, help="drill speed (default 200 rpm)")
    ap.add_argument("--sps", type=int, default=80, choices=(10, 80), help="HX711 rate")
    ap.add_argument("--med", type=int, default=5, help="median window (sc_med, default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--gravity",
        type=gravity,
        default=EARTH_M_S2,
        metavar="G",
        help="earth, moon (1.62) or m/s^2 where the trials weigh (default earth)",
    )
    a = ap.parse_args()
    trials = 100 if a.quick else 2000
    g = a.gravity
    s = run(trials, [a.rpm], a.sps, a.seed, med=a.med, gravity_m_s2=g)[a.rpm]
    print(
        f"trials {s['trials']}, drill {a.rpm:g} rpm, HX711 {a.sps} SPS, masses 0-2000 g, "
        f"gravity {g:g} m/s^2 (calibrated at {EARTH_M_S2:g}), "
        f"first average {s['window']} conversions"
    )
    print(f"{'':24}{'p50 g':>10}{'p95 g':>10}")
    print(f"{'unfiltered conversion':24}{s['raw_p50_g']:10.3f}{s['raw_p95_g']:10.3f}")
    print(
        f"{'firmware filter':24}{s['err_p50_g']:10.3f}{s['err_p95_g']:10.3f}"
        f"   (max {s['err_max_g']:.3f} g)"
    )
    print(
        f"settled after: p50 {s['settle_p50_s']:.2f} s, p95 {s['settle_p95_s']:.2f} s; "
        f"never settled: {s['never_settled']}"
    )
    worst = s["settle_p95_s"] if a.rpm >= 37.5 else 0.0
    if not a.quick:
        rpms = [0.0, 30.0, 37.5, 60.0, 100.0, 120.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0]
        n = trials // 4
        print(
            f"\nspeed sweep, {n} trials each: turn-matched (the firmware) | fixed "
            f"first average (no drill speed)"
        )
        print(
            f"{'rpm':>5}{'win':>5}{'raw p95':>9}{'p95 g':>8}{'settle':>8}{'never':>6}"
            f"   |{'p95 g':>8}{'settle':>8}{'never':>6}"
        )
        tm = run(n, rpms, a.sps, a.seed, med=a.med, gravity_m_s2=g)
        fx = run(n, rpms, a.sps, a.seed, turns=False, med=a.med, gravity_m_s2=g)
        worst = max(tm[r]["settle_p95_s"] for r in rpms if r >= 37.5)
        for r in rpms:
            t, x = tm[r], fx[r]
            print(
                f"{r:5g}{t['window']:5d}{t['raw_p95_g']:9.2f}{t['err_p95_g']:8.3f}"
                f"{t['settle_p95_s']:8.2f}{t['never_settled']:6d}   |"
                f"{x['err_p95_g']:8.3f}{x['settle_p95_s']:8.2f}{x['never_settled']:6d}"
            )
    print(
        f"mass_error_p95_g={s['err_p95_g']:.3f} settle_s={s['settle_p95_s']:.2f} "
        f"settle_worst_s={worst:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
