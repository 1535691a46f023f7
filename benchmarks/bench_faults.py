"""Fault-injection campaign: every scenario on a fresh emulated board.

    python benchmarks/bench_faults.py [--quick]

Prints the campaign table and, last, `scenarios=N failed=F records_lost=L`.
--quick runs one scenario (CI checks the script end to end; tests/e2e/test_faults.py
runs a larger subset).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lunasample.faults.campaign import run_campaign, summary_line, write_results

QUICK = ["estop"]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a short subset")
    ap.add_argument("--out", type=Path, default=Path("faults-out"))
    args = ap.parse_args()
    results = run_campaign(QUICK if args.quick else None, seed=1)
    write_results(results, args.out)
    print((args.out / "summary.md").read_text())
    print(summary_line(results))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
