"""Soak: 24 h of board time on the emulated board (telemetry at 10 Hz, the
drill cycling), checking heap growth, loop overruns and lost frames.

    python benchmarks/bench_soak.py [--quick] [--hours H]

Last line: soak_hours=<h> heap_drift_bytes=<b> frames_lost=<n> overruns=<n>
"""

from __future__ import annotations

import argparse
import sys
import time

from lunasample.faults.soak import soak


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="3 minutes of board time")
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    hours = 0.05 if args.quick else args.hours
    t0 = time.monotonic()
    r = soak(hours * 3600, tm_hz=10, sample_every_s=300)
    wall = time.monotonic() - t0
    print(
        f"board time {r.board_s / 3600:.2f} h in {wall:.0f} s wall "
        f"({r.board_s / wall:.0f}x real time), {r.tm_frames} telemetry frames"
    )
    for t, mem in r.mem_free:
        print(f"  t={t / 3600:6.2f} h  free heap {mem} bytes")
    print(r.line())
    return 0 if r.frames_lost == 0 and r.heap_drift_bytes > -1024 else 1


if __name__ == "__main__":
    sys.exit(main())
