"""Fault-injection campaign on emulated boards, on their own clocks.

    python benchmarks/bench_faults.py [--quick] [--moments N] [--out DIR]

Three parts:
1. the scenarios (lunasample.faults.scenarios), each on a fresh board;
2. faults at random moments (lunasample.faults.moments): every kind at N
   seeded random moments of a sampling campaign (20 by default), its
   detection time (fault on to fault event, board ms), the last actuation
   after the report, and the journal records lost;
3. the e-stop latency: the hardwired loop opened at 20 random moments while
   the drill turns, input edge to every actuator output off, board us; with
   the firmware's compute free (cpu_scale 0: the edge's place in the loop)
   and charged to the board's clock at this host's speed (cpu_scale 1).

Prints the tables and, last, key=value figures: scenarios, failed,
records_lost, moments, moment_kinds_failed, moment_records_lost,
moment_detect_max_ms, moment_cut_max_ms, estop_to_outputs_off_us (the
worst, compute charged) and estop_to_outputs_off_us_free. --quick runs one
scenario, two kinds at one moment and three presses (CI checks the script
end to end; tests/e2e/test_faults.py runs larger subsets).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lunasample.faults.campaign import run_campaign, summary_line, write_results
from lunasample.faults.latency import estop_latency_us
from lunasample.faults.moments import run_moments, summary, table

QUICK = ["estop"]
QUICK_KINDS = ["estop_pressed", "encoder_wire_cut"]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a short subset")
    ap.add_argument("--moments", type=int, default=20, help="random moments per fault kind")
    ap.add_argument("--out", type=Path, default=Path("faults-out"))
    args = ap.parse_args()
    if args.moments < 1:
        print("bench_faults: --moments must be at least 1", file=sys.stderr)
        return 2
    results = run_campaign(QUICK if args.quick else None, seed=1)
    write_results(results, args.out)
    print((args.out / "summary.md").read_text())
    kinds = run_moments(
        QUICK_KINDS if args.quick else None, 1 if args.quick else args.moments, seed=1
    )
    print("# Faults at random moments\n")
    print(table(kinds) + "\n")
    presses = 3 if args.quick else 20
    free = estop_latency_us(presses, seed=1, cpu_scale=0)
    charged = estop_latency_us(presses, seed=1, cpu_scale=1)
    print(
        f"e-stop input edge to all outputs off, {presses} presses, board us: "
        f"compute free {min(free)}-{max(free)}, charged {min(charged)}-{max(charged)}\n"
    )
    figures = " ".join(f"{k}={v:g}" for k, v in summary(kinds).items())
    print(
        f"{summary_line(results)} {figures} estop_to_outputs_off_us={max(charged)} "
        f"estop_to_outputs_off_us_free={max(free)}"
    )
    ok = all(r.passed for r in results) and all(k.passed for k in kinds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
