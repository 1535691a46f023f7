"""`lunasample monitor`: live telemetry and events in 80x25, or the replay of a frame log."""

from __future__ import annotations

import argparse
import contextlib
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.text import Text

from lunasample import dictionary
from lunasample.errors import UserError
from lunasample.firmware.sampler import proto
from lunasample.link.client import Frame, Link
from lunasample.link.framelog import read_log
from lunasample.session import add_board_args, open_session

WIDTH, HEIGHT = 80, 25
EVENT_ROWS = 6
# key -> (command, what it does); shown in --help and on the screen's last line.
KEYS: dict[str, tuple[str, str]] = {
    "e": ("ESTOP", "e-stop"),
    " ": ("ESTOP", "e-stop"),
    "s": ("STOP", "stop"),
    "a": ("ARM", "arm"),
    "d": ("DISARM", "disarm"),
    "r": ("RESET", "reset"),
    "q": ("", "quit"),
}
KEYS_HELP = "keys: e/space e-stop, s stop, a arm, d disarm, r reset (a fault), q quit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="show live telemetry and events, or replay a frame log",
        description="Connect to a board, ask for telemetry at --rate Hz and show it live in "
        "an 80x25 terminal, each field with its unit, with the latest events. "
        "With --replay FILE, print a frame log written with --log instead (no "
        "board needed).",
        epilog=KEYS_HELP + " (keys work when stdin is a terminal; Ctrl-C also quits)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_board_args(p, default_speed=1.0)
    p.add_argument(
        "--rate",
        type=int,
        default=10,
        metavar="HZ",
        help="telemetry rate to request, 1..100 (default: %(default)s)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0,
        metavar="S",
        help="stop after S seconds (default: until q or Ctrl-C)",
    )
    p.add_argument("--replay", type=Path, metavar="FILE", help="replay a frame log")
    p.set_defaults(run=run)


def _value(name: str, raw: str) -> tuple[str, str]:
    """A telemetry value as display text and unit (scaled, enumerations by name)."""
    d = dictionary.load()
    f = d.tm_field(name)
    if f.get("enum"):
        names = d.enum(f["enum"])
        try:
            i = int(raw)
        except ValueError:
            return raw, ""  # already a name (st)
        return (names[i] if 0 <= i < len(names) else raw), ""
    try:
        v = int(raw)
    except ValueError:
        return raw, f.get("unit", "")
    scale = f.get("scale", 1)
    if scale != 1:
        digits = max(0, len(str(scale).split(".")[-1])) if scale < 1 else 0
        return f"{v * scale:.{digits}f}", f.get("unit", "")
    return str(v), f.get("unit", "")


def _label(name: str) -> str:
    return str(dictionary.load().tm_field(name)["label"])


def render(
    tm: dict[str, str], events: list[str], stats: dict[str, int], where: str, rate: int
) -> list[str]:
    """The screen as at most HEIGHT lines of at most WIDTH characters."""
    d = dictionary.load()
    head = (
        f"{where}  st {tm.get('st', '?')}  t {int(tm.get('t', 0) or 0) / 1000:.1f} s  TM {rate} Hz"
    )
    lines = [
        head[:WIDTH],
        (
            f"frames rx {stats.get('rx', 0)} tx {stats.get('tx', 0)}  lost "
            f"{stats.get('rx_lost', 0)} bad {stats.get('bad', 0)} retries "
            f"{stats.get('retries', 0)}"
        )[:WIDTH],
        "",
    ]
    cells = []
    for f in d.telemetry:
        n = f["name"]
        if n in ("t", "st") or n not in tm:
            continue
        text, unit = _value(n, tm[n])
        cells.append(f"{_label(n):<18} {text:>12} {unit:<6}"[:39])
    half = (len(cells) + 1) // 2
    rows = HEIGHT - len(lines) - EVENT_ROWS - 3
    for i in range(min(half, rows)):
        right = cells[half + i] if half + i < len(cells) else ""
        lines.append(f"{cells[i]:<39}  {right}".rstrip()[:WIDTH])
    lines.append("")
    lines.append("events:")
    for e in events[-EVENT_ROWS:]:
        lines.append(("  " + e)[:WIDTH])
    lines += [""] * (HEIGHT - 1 - len(lines))
    lines.append(KEYS_HELP[:WIDTH])
    return lines[:HEIGHT]


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


@contextlib.contextmanager
def _keys(on_key: Callable[[str], None]) -> Iterator[None]:
    """Read single keys from a terminal stdin in a thread (no-op otherwise)."""
    if not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                on_key(sys.stdin.read(1))

    tty.setcbreak(fd)
    t = threading.Thread(target=loop, name="monitor-keys", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=1)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def run(args: argparse.Namespace) -> int:
    con = Console()
    if args.replay:
        return replay(args.replay, con)
    if not 1 <= args.rate <= 100:
        raise UserError(f"--rate {args.rate}: give 1..100 Hz")
    events: list[str] = []
    quit_ = threading.Event()

    def on_event(fr: Frame) -> None:
        events.append(" ".join(f"{k}={v}" for k, v in fr.fields.items()))

    with open_session(args) as s:
        link: Link = s.link

        def on_key(k: str) -> None:
            cmd = KEYS.get(k.lower(), ("?", ""))[0]
            if k.lower() == "q":
                quit_.set()
            elif cmd and cmd != "?":
                try:
                    link.command(cmd)
                    events.append(f"(sent {cmd})")
                except Exception as e:  # a NAK is news for the screen, not a crash
                    events.append(f"({cmd}: {e})")

        link.subscribe("EV", on_event)
        link.command("TMRATE", hz=args.rate)
        start = time.monotonic()

        def screen() -> Text:
            return Text(
                "\n".join(render(dict(link.telemetry), events, link.stats, s.where, args.rate)),
                no_wrap=True,
                overflow="crop",
            )

        with _keys(on_key), Live(screen(), console=con, refresh_per_second=4) as live:
            while not quit_.is_set() and (
                not args.duration or time.monotonic() - start < args.duration
            ):
                time.sleep(0.25)
                live.update(screen())
        link.command("TMRATE", hz=0)
    return 0
