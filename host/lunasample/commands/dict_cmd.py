"""`lunasample dict`: the command/telemetry dictionary, as tables or JSON."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from lunasample import dictionary


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dict",
        help="print the command/telemetry dictionary",
        description="Print every command (arguments with type, unit and range, preconditions, "
        "replies, errors), telemetry field, event, fault code and parameter of the "
        "wire protocol, from the one dictionary the firmware constants and "
        "docs/protocol.md are generated from.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="machine-readable JSON (keys commands, telemetry, events, faults, "
        "params, errors, enums, protocol)",
    )
    p.add_argument(
        "--write",
        action="store_true",
        help="regenerate the generated blocks in the firmware and docs/protocol.md "
        "(in a source checkout)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a generated block is stale (in a source checkout)",
    )
    p.set_defaults(run=run)


def _arg_text(a: dict[str, object]) -> str:
    rng = ""
    if a.get("min") is not None or a.get("max") is not None:
        rng = f" {a.get('min')}..{a.get('max')}"
    unit = f" {a['unit']}" if a.get("unit") else ""
    opt = "?" if a.get("optional") else ""
    return f"{a['name']}{opt}:{a['type']}{rng}{unit}"


def print_tables(con: Console) -> None:
    """The dictionary as rich tables."""
    d = dictionary.load()
    t = Table(title="commands", title_justify="left")
    for col in ("id", "name", "kind", "arguments", "preconditions", "errors"):
        t.add_column(col, overflow="fold")
    for c in d.commands:
        t.add_row(
            str(c["id"]),
            c["name"],
            c["kind"],
            " ".join(_arg_text(a) for a in c["args"]) or "-",
            "; ".join(c["pre"]) or "-",
            " ".join(c["errors"]) or "-",
        )
    con.print(t)
    t = Table(title="telemetry (TM, at the TMRATE rate)", title_justify="left")
    for col in ("id", "name", "group", "unit", "scale", "doc"):
        t.add_column(col, overflow="fold")
    for f in d.telemetry:
        t.add_row(
            f"{f['id']} {dictionary.TM_ID_BASE + f['id']:c}",
            f["name"],
            f["group"],
            f.get("unit", ""),
            f"{f['scale']:g}",
            f["doc"],
        )
    con.print(t)
    t = Table(title="events (EV kind=...)", title_justify="left")
    t.add_column("kind")
    t.add_column("fields", overflow="fold")
    t.add_column("doc", overflow="fold")
    for e in d.events:
        t.add_row(e["name"], " ".join(x["name"] for x in e["fields"]), e["doc"])
    con.print(t)
    t = Table(title="error codes (NAK err=)", title_justify="left")
    for col in ("code", "name", "doc"):
        t.add_column(col, overflow="fold")
    for e in d.errors:
        t.add_row(str(e["code"]), e["name"], e["doc"])
    con.print(t)
    t = Table(title="fault codes", title_justify="left")
    for col in ("code", "name", "recovery"):
        t.add_column(col, overflow="fold")
    for f in d.faults:
        t.add_row(str(f["code"]), f["name"], f["recovery"])
    con.print(t)
    t = Table(title="parameters (PARAM)", title_justify="left")
    for col in ("name", "unit", "default", "range", "doc"):
        t.add_column(col, overflow="fold")
    for p in d.params:
        rng = f"{p['min']}..{p['max']}" + (" (board)" if p.get("max_board") else "")
        t.add_row(p["name"], p.get("unit", ""), str(p["default"]), rng, p["doc"])
    con.print(t)


def run(args: argparse.Namespace) -> int:
    if args.write or args.check:
        from lunasample.dictionary import generate

        stale = generate.sync(write=args.write)
        for path in stale:
            verb = "wrote" if args.write else "stale"
            print(f"{verb}: {path}", file=sys.stderr if args.check else sys.stdout)
        return 1 if stale and args.check else 0
    if args.json:
        sys.stdout.write(dictionary.dumps() + "\n")
        return 0
    print_tables(Console())
    return 0
