"""`lunasample status`: handshake with a board and show its state and parameters."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from lunasample.session import add_board_args, open_session


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="show a board's identity, state and parameters",
        description="Say HELLO to a board, print its firmware, state and parameters. "
        "With NAME [VALUE], read or set one parameter (range-checked, persisted "
        "on the board).",
    )
    add_board_args(p, default_speed=1.0)
    p.add_argument("param", nargs="?", metavar="NAME", help="a parameter to read or set")
    p.add_argument("value", nargs="?", type=int, metavar="VALUE", help="new integer value")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    con = Console()
    with open_session(args) as s:
        link = s.link
        if args.param:
            fields = {"name": args.param}
            if args.value is not None:
                fields["value"] = args.value
            r = link.command("PARAM", **fields)
            con.print(
                f"{r.fields['name']} = {r.fields['value']} "
                f"(range {r.fields['lo']}..{r.fields['hi']})"
            )
            return 0
        h = link.hello
        assert h is not None
        st = link.command("STATUS").fields
        t = Table(title=f"board on {s.where}", show_header=False)
        for k, v in (
            ("firmware", h.firmware),
            ("board", h.board),
            ("protocol", str(h.protocol)),
            ("capabilities", " ".join(h.caps)),
            ("loop rate", f"{h.loop_hz} Hz"),
            ("state", st.get("st", "?")),
            ("fault", st.get("flt", "?")),
            ("last safe reason", st.get("why", "?")),
            ("loop overruns", st.get("ovr", "?")),
            ("worst step", f"{st.get('worst', '?')} us"),
            ("free heap", f"{st.get('mem', '?')} bytes"),
        ):
            t.add_row(k, v)
        con.print(t)
        n = link.command("PARAMS").int("n")
        if n:
            pt = Table(title="parameters")
            pt.add_column("name")
            pt.add_column("value", justify="right")
            for i in range(n):
                r = link.command("PARAMS", i=i).fields
                pt.add_row(r["name"], r["value"])
            con.print(pt)
    return 0
