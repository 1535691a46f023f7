"""`lunasample gds`: a web ground station for one board, real or emulated."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.gds import mission as gds_mission
from lunasample.gds.catalog import load_dictionary
from lunasample.gds.server import listen, page_url, serve_forever
from lunasample.gds.station import Station
from lunasample.mission.params import load_params
from lunasample.session import add_board_args, emulated_hb_timeout_ms

TOKEN_ENV = "LUNASAMPLE_GDS_TOKEN"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gds",
        help="web ground station: live plots, commands, E-STOP, events, parameters",
        description="Serve a ground-station page for one board: connection and safety state, "
        "a large E-STOP (also on the Esc key), live plots of the drill, arm and "
        "mass, commands generated from the command dictionary, the event log, "
        "the parameter table and the mission timeline. Runs an emulated board "
        "unless --port is given. Serves 127.0.0.1 only unless --bind is given "
        "together with a --token that every page and command must present. "
        "See docs/gds.md.",
    )
    add_board_args(p, default_speed=None, speed_default="1, or 0 with --mission")
    p.add_argument(
        "--http-port",
        type=int,
        default=8090,
        metavar="N",
        help="TCP port of the page; 0 picks a free one (default: %(default)s)",
    )
    p.add_argument(
        "--bind",
        metavar="ADDR",
        help="listen on ADDR (e.g. 0.0.0.0) instead of 127.0.0.1; needs --token",
    )
    p.add_argument(
        "--token",
        metavar="TOKEN",
        default=os.environ.get(TOKEN_ENV),
        help=f"secret the page and every command must present (default: ${TOKEN_ENV})",
    )
    p.add_argument(
        "--tm-rate",
        type=int,
        default=10,
        metavar="HZ",
        help="telemetry rate asked of the board, 1..100 (default: %(default)s)",
    )
    p.add_argument(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="show this timeline.json (from `lunasample mission`) in the timeline "
        "panel, re-read when it changes",
    )
    p.add_argument(
        "--mission",
        action="store_true",
        help="fly a mission with its sampling on the board; the timeline panel follows it",
    )
    p.add_argument("--seed", type=int, default=1, help="mission seed (default: %(default)s)")
    p.add_argument("--params", type=Path, metavar="FILE", help="mission parameter overrides")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(run=run)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad options before anything starts."""
    if args.bind and not args.token:
        raise UserError(
            "--bind needs --token: a page reachable from the network must "
            "not drive the board without a secret"
        )
    if args.token is not None and (
        len(args.token) < 8
        or not args.token.isprintable()
        or " " in args.token
        or "#" in args.token
    ):
        raise UserError("--token must be at least 8 printable characters without spaces or #")
    if not 0 <= args.http_port <= 65535:
        raise UserError(f"--http-port {args.http_port} is not a TCP port (0..65535)")
    if not 1 <= args.tm_rate <= 100:
        raise UserError(f"--tm-rate {args.tm_rate} is outside 1..100 Hz")
    if args.timeline is not None and not args.timeline.is_file():
        raise UserError(f"--timeline {args.timeline}: no such file")
    if args.timeline is not None and args.mission:
        raise UserError("--timeline and --mission both fill the timeline panel: give one")
    if args.params is not None and not args.mission:
        raise UserError("--params needs --mission")
    if args.mission:
        load_params(args.params)  # a bad override file fails now, not mid-mission
    if args.speed is None:
        args.speed = 0.0 if args.mission else 1.0
    if args.speed < 0:
        raise UserError(f"--speed {args.speed:g} must be 0 (as fast as possible) or more")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    check_args(args)
    dictionary = load_dictionary()
    sock = listen(args.bind or "127.0.0.1", args.http_port)
    board: EmulatedBoard | None = None
    flash: Path | None = None
    station: Station | None = None
    try:
        if args.port:
            url, where, hbto = args.port, args.port, None
        else:
            # The flash lives as long as the station: nothing is left behind.
            flash = Path(tempfile.mkdtemp(prefix="lunasample-gds-"))
            board = EmulatedBoard(board=args.board, speed=args.speed, fs_dir=flash).start()
            url, where = board.url, f"emulated {args.board} board ({board.url})"
            hbto = emulated_hb_timeout_ms(args.speed)
        station = Station(
            url,
            dictionary,
            token=args.token,
            tm_hz=args.tm_rate,
            hb_timeout_ms=hbto,
            where=where,
            log_path=args.log,
            timeline_path=args.timeline,
            mass_target_g=load_params(args.params).sampling.target_g,
        )
        station.start()
        if args.mission:
            gds_mission.start(station, board, args.seed, args.params)
        address = page_url(sock, args.token)
        print(f"ground station on {address} (board: {where}); Ctrl-C to stop", flush=True)
        if not args.no_browser:
            threading.Timer(0.5, webbrowser.open, args=(address,)).start()
        signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: board off, port freed
        try:
            serve_forever(station, sock)
        except KeyboardInterrupt:
            pass  # Ctrl-C or SIGTERM is how a server is stopped: not an error
    finally:
        if station is not None:
            station.stop()
        if board is not None:
            board.stop()
        sock.close()
        if flash is not None:
            shutil.rmtree(flash, ignore_errors=True)
    print("ground station stopped", file=sys.stderr)
    return 0
