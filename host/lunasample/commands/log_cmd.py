"""`lunasample log export`: a frame log as MCAP (Foxglove, PlotJuggler) or CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from lunasample.errors import UserError
from lunasample.link import logexport


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "log",
        help="convert frame logs for other tools",
        description="Work with frame logs written by --log (one JSON line per frame).",
    )
    lsub = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    e = lsub.add_parser(
        "export",
        help="write a frame log's telemetry and events as MCAP and/or CSV",
        description="Decode a frame log's telemetry (packed TM frames, with the layout of "
        "the TMRATE reply before them) and events. --mcap writes MCAP with JSON "
        "schemas: /telemetry (fields in the dictionary's units, enumerations also "
        "as names) and /events; Foxglove and PlotJuggler open it. --csv writes "
        "the telemetry as CSV (units in the header) and the events beside it as "
        "<stem>-events.csv.",
    )
    e.add_argument("framelog", type=Path, metavar="FRAMELOG", help="frame log (JSONL)")
    e.add_argument("--mcap", type=Path, metavar="OUT", help="write MCAP to OUT")
    e.add_argument("--csv", type=Path, metavar="OUT", help="write CSV to OUT")
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.mcap and not args.csv:
        raise UserError("give --mcap OUT and/or --csv OUT")
    if not args.framelog.is_file():
        raise UserError(f"no frame log {args.framelog}")
    for out in (args.mcap, args.csv):
        if out is not None and not out.resolve().parent.is_dir():
            raise UserError(f"cannot write {out}: no directory {out.resolve().parent}")
    dec = logexport.decode_log(args.framelog)
    note = f"{len(dec.samples)} telemetry samples, {len(dec.events)} events"
    if dec.unknown_tm:
        note += f", {dec.unknown_tm} TM frames skipped (no TMRATE reply before them)"
    if dec.bad:
        note += f", {dec.bad} damaged lines skipped"
    if args.mcap:
        n = logexport.write_mcap(dec, args.mcap)
        print(f"wrote {args.mcap}: {n} messages ({note})")
    if args.csv:
        tm, ev = logexport.write_csv(dec, args.csv)
        print(f"wrote {tm} and {ev} ({note})")
    return 0
