"""Regolith mass error with the drill running: the firmware's own filter
(firmware/sampler/filters.py) on conversion streams from the emulated load
cell's noise model (host/lunasample/emulator/sim/plant_loadcell.py), both run
in the micropython binary.

Each trial: a fresh cell with the drill vibrating the pan, the empty container
tared on a settled reading, then a sample of 0-2 kg dropped in. The first
settled reading taken after it (the rule TARE and CAL use on the board:
settled, with a full window of conversions since the command) is compared
with the true mass, and so is the error of the single unfiltered conversion at the same
instant (the in-run baseline). The calibration (empty + 1 kg reference, drill
stopped) is done once with the same filter, as CAL does on the board.

    python benchmarks/bench_mass.py [--quick] [--rpm 200] [--sps 10]

Last line: mass_error_p95_g=<x> settle_s=<y> (settle_s: 95th percentile).
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
WIN = 0.1 if SPS < 80 else 0.0125

def settle(cell, f, fresh, limit=600):
    # -> (filtered value, last raw conversion, conversions until settled or -1)
    n0 = f.count
    x = 0
    for i in range(limit):
        x = cell.convert(WIN, 128, SPS)
        f.push(x)
        if f.count - n0 >= fresh and f.settled:
            return f.value, x, i + 1
    return f.value, x, -1

def make_filter(k):
    step = filters.counts_for_mg(P["step_mg"], k) if k else 5000
    band = filters.counts_for_mg(P["band_mg"], k) if k else 500
    spike = filters.counts_for_mg(P["spike_mg"], k) if k else 10000
    return filters.MassFilter(P["n_med"], P["n_avg"], step, band, spike)

fresh = 2 * P["n_avg"] + P["n_med"] // 2  # as scale_cal waits after TARE/CAL
cell = plant_loadcell.Bridge({"drill_rpm": 0.0, "hx711_sps": SPS}, 1)
f = make_filter(0)
raw0, _, _ = settle(cell, f, fresh)
cell.configure({"extra_g": 1000.0})
raw1, _, _ = settle(cell, f, fresh)
k = filters.cal_factor(raw0, raw1, 1000000)
print("CAL", raw0, raw1, k)
for t in range(P["trials"]):
    cell = plant_loadcell.Bridge({"drill_rpm": P["rpm"], "hx711_sps": SPS}, 1000 + t)
    f = make_filter(k)
    for _ in range(20):  # the drill has been running for a while
        f.push(cell.convert(WIN, 128, SPS))
    zero, _, _ = settle(cell, f, fresh)  # TARE, empty container
    m = P["masses"][t]
    cell.configure({"extra_g": m})
    v, x, n = settle(cell, f, fresh)
    mg = filters.mg_from_counts(v - zero, k)
    raw_mg = filters.mg_from_counts(x - zero, k)
    truth = int(round(cell.contents_g() * 1000))
    print("T", t, truth, mg - truth, raw_mg - truth, n)
"""


def run(trials: int, rpm: float, sps: int, seed: int) -> dict[str, float]:
    """Run the trials in the micropython binary; returns the summary figures."""
    rng = np.random.default_rng(seed)
    masses = [round(float(x), 3) for x in rng.uniform(0.0, 2000.0, trials)]
    params = {"hx711_sps": sps, "rpm": rpm, "trials": trials, "masses": masses,
              "n_med": 7, "n_avg": 12, "step_mg": 5000, "band_mg": 500,
              "spike_mg": 10000}
    env = dict(os.environ, MICROPYPATH=f"{paths.SIM_DIR}:{paths.FIRMWARE_DIR}")
    r = subprocess.run([paths.micropython_binary(), "-X", "heapsize=1M", "-c",
                        SCRIPT % {"params": json.dumps(params)}],
                       capture_output=True, text=True, env=env, timeout=3600)
    if r.returncode != 0:
        sys.exit(f"bench_mass: micropython failed:\n{r.stdout}{r.stderr}")
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("T ")]
    err = np.array([abs(int(x[3])) for x in rows]) / 1000.0
    raw = np.array([abs(int(x[4])) for x in rows]) / 1000.0
    n = np.array([int(x[5]) for x in rows])
    never = int((n < 0).sum())
    settle_s = n[n >= 0] / float(sps)
    return {
        "trials": len(rows), "never_settled": never,
        "err_p95_g": float(np.percentile(err, 95)), "err_p50_g": float(np.median(err)),
        "err_max_g": float(err.max()),
        "raw_p95_g": float(np.percentile(raw, 95)), "raw_p50_g": float(np.median(raw)),
        "settle_p50_s": float(np.median(settle_s)) if len(settle_s) else float("inf"),
        "settle_p95_s": float(np.percentile(settle_s, 95)) if len(settle_s) else float("inf"),
    }


def main() -> int:
    """Print the table and the headline line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 trials instead of 2000")
    ap.add_argument("--rpm", type=float, default=200.0, help="drill speed (default 200 rpm)")
    ap.add_argument("--sps", type=int, default=10, choices=(10, 80), help="HX711 rate")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    s = run(100 if a.quick else 2000, a.rpm, a.sps, a.seed)
    print(f"trials {s['trials']}, drill {a.rpm:g} rpm, HX711 {a.sps} SPS, masses 0-2000 g")
    print(f"{'':24}{'p50 g':>10}{'p95 g':>10}")
    print(f"{'unfiltered conversion':24}{s['raw_p50_g']:10.3f}{s['raw_p95_g']:10.3f}")
    print(f"{'firmware filter':24}{s['err_p50_g']:10.3f}{s['err_p95_g']:10.3f}"
          f"   (max {s['err_max_g']:.3f} g)")
    print(f"settled after: p50 {s['settle_p50_s']:.2f} s, p95 {s['settle_p95_s']:.2f} s; "
          f"never settled: {s['never_settled']}")
    print(f"mass_error_p95_g={s['err_p95_g']:.3f} settle_s={s['settle_p95_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
