"""`lunasample monitor`: live telemetry and events, or the replay of a frame log."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from lunasample.firmware.sampler import proto
from lunasample.link.client import Frame
from lunasample.link.framelog import read_log
from lunasample.session import add_board_args, open_session


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="show live telemetry and events, or replay a frame log",
        description="Connect to a board, ask for telemetry at --rate Hz and show it live with "
        "the events as they come. With --replay FILE, print a frame log written "
        "with --log instead (no board needed).",
    )
    add_board_args(p, default_speed=1.0)
    p.add_argument(
        "--rate",
        type=int,
        default=10,
        metavar="HZ",
        help="telemetry rate to request (default: %(default)s)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0,
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C)",
    )
    p.add_argument("--replay", type=Path, metavar="FILE", help="replay a frame log")
    p.set_defaults(run=run)


def _table(tm: dict[str, str], events: list[str], stats: dict[str, int]) -> Table:
    t = Table(title="telemetry", show_header=False, min_width=40)
    for k, v in tm.items():
        t.add_row(k, v)
    t.add_row("", "")
    t.add_row("frames rx/tx", f"{stats['rx']}/{stats['tx']}")
    t.add_row("lost/bad/retries", f"{stats['rx_lost']}/{stats['bad']}/{stats['retries']}")
    for e in events[-8:]:
        t.add_row("event", e)
    return t


def replay(path: Path, con: Console) -> int:
    """Print each logged frame with its time, direction and decoded fields."""
    for fr in read_log(path):
        arrow = "->" if fr.direction == "tx" else "<-"
        try:
            seq, mtype, fields = proto.decode(fr.raw.encode())
            body = " ".join(f"{k}={v}" for k, v in fields.items())
            con.print(f"{fr.t:10.3f} {arrow} {seq:5d} {mtype:5} {body}", highlight=False)
        except proto.FrameError as e:
            con.print(f"{fr.t:10.3f} {arrow} [red]bad frame ({e.args[1]})[/] {fr.raw!r}")
    return 0


def run(args: argparse.Namespace) -> int:
    con = Console()
    if args.replay:
        return replay(args.replay, con)
    events: list[str] = []

    def on_event(fr: Frame) -> None:
        events.append(" ".join(f"{k}={v}" for k, v in fr.fields.items()))

    with open_session(args) as s:
        s.link.subscribe("EV", on_event)
        s.link.command("TMRATE", hz=args.rate)
        start = time.monotonic()
        with Live(_table({}, events, s.link.stats), console=con, refresh_per_second=4) as live:
            while not args.duration or time.monotonic() - start < args.duration:
                time.sleep(0.25)
                live.update(_table(dict(s.link.telemetry), events, s.link.stats))
        s.link.command("TMRATE", hz=0)
    return 0
