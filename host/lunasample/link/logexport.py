"""Frame logs for the field's tools: MCAP (Foxglove, PlotJuggler) and CSV.

A frame log (link/framelog.py, one JSON line per frame) holds the raw lines
both ways. Telemetry frames are packed (docs/protocol.md, Telemetry): their
layout is the `sel` of the TMRATE reply before them in the same log, so a
log is readable on its own. Values come out in the dictionary's units
(wire value x scale); enumerations as their index plus a `<name>_name` text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lunasample import dictionary
from lunasample.errors import UserError
from lunasample.firmware.sampler import packed, proto
from lunasample.link.framelog import read_log


@dataclass
class Sample:
    t: float  # host seconds since the log started
    board_ms: int
    values: dict[str, float | int]  # in the dictionary's units


@dataclass
class Event:
    t: float
    kind: str
    fields: dict[str, int | str]


@dataclass
class Decoded:
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    frames: int = 0
    bad: int = 0  # lines that did not decode
    unknown_tm: int = 0  # TM frames before any layout was seen
    fields: list[str] = field(default_factory=list)  # telemetry names seen, dictionary order


def _num(v: str) -> int | str:
    try:
        return int(v)
    except ValueError:
        return v


def decode_log(path: Path) -> Decoded:
    """Telemetry samples and events of a frame log, in order."""
    d = dictionary.load()
    out = Decoded()
    sel: str | None = None
    seen: set[str] = set()
    for fr in read_log(path):
        if fr.direction != "rx":
            continue
        try:
            _seq, mtype, fields = proto.decode(fr.raw.encode("ascii", "replace"))
        except proto.FrameError:
            out.bad += 1
            continue
        out.frames += 1
        if mtype == "ACK" and "sel" in fields:
            sel = fields["sel"]  # only TMRATE replies carry sel
        elif mtype == "TM" and "v" in fields:
            try:
                values = packed.unpack(fields["v"])
            except ValueError:
                out.bad += 1
                continue
            if sel is None or len(values) != len(sel):
                out.unknown_tm += 1
                continue
            row: dict[str, float | int] = {}
            board_ms = 0
            for c, v in zip(sel, values, strict=True):
                f = d.tm_by_char(c)
                if f is None:
                    continue
                if f["name"] == "t":
                    board_ms = v
                    continue
                scale = f.get("scale", 1)
                row[f["name"]] = v * scale if scale != 1 else v
                seen.add(f["name"])
            out.samples.append(Sample(fr.t, board_ms, row))
        elif mtype == "EV":
            kind = fields.pop("kind", "?")
            out.events.append(Event(fr.t, kind, {k: _num(v) for k, v in fields.items()}))
    out.fields = [t["name"] for t in d.telemetry if t["name"] in seen]
    return out


def telemetry_schema(names: list[str]) -> dict[str, Any]:
    """JSON schema of a telemetry message: each field's unit and meaning."""
    d = dictionary.load()
    props: dict[str, Any] = {
        "board_time": {"type": "number", "description": "board time of the sample [s]"},
    }
    for n in names:
        f = d.tm_field(n)
        unit = f" [{f['unit']}]" if f.get("unit") else ""
        props[n] = {"type": "number", "description": f"{f['doc']}{unit}"}
        if f.get("enum"):
            values = d.enum(f["enum"])
            props[n]["description"] += (
                " (" + ", ".join(f"{i}={v}" for i, v in enumerate(values)) + ")"
            )
            props[n + "_name"] = {"type": "string", "enum": values}
    return {"title": "lunasample.Telemetry", "type": "object", "properties": props}


def event_schema() -> dict[str, Any]:
    d = dictionary.load()
    return {
        "title": "lunasample.Event",
        "type": "object",
        "properties": {
            "kind": {
                "type": "string",
                "enum": [e["name"] for e in d.events],
                "description": "event kind (docs/protocol.md, Events)",
            },
            "fields": {
                "type": "object",
                "description": "the event's fields",
                "additionalProperties": {"type": ["integer", "string"]},
            },
        },
    }


def _telemetry_messages(dec: Decoded) -> Iterator[tuple[Sample, dict[str, Any]]]:
    d = dictionary.load()
    for s in dec.samples:
        msg: dict[str, Any] = {"board_time": s.board_ms / 1000.0}
        for n, v in s.values.items():
            msg[n] = v
            f = d.tm_field(n)
            if f.get("enum"):
                names = d.enum(f["enum"])
                msg[n + "_name"] = names[int(v)] if 0 <= int(v) < len(names) else str(v)
        yield s, msg


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise UserError(f"{out} is a directory: give a file name")
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: no directory {out.parent}")


def write_mcap(dec: Decoded, out: Path) -> int:
    """Telemetry on /telemetry and events on /events, JSON with JSON schemas;
    log_time is the host's receive time, publish_time the board's. Returns
    the messages written."""
    from mcap.writer import Writer

    _check_out(out)
    n = 0
    try:
        with open(out, "wb") as f:
            w = Writer(f)
            w.start(profile="", library="lunasample")
            tm_schema = w.register_schema(
                "lunasample.Telemetry",
                "jsonschema",
                json.dumps(telemetry_schema(dec.fields)).encode(),
            )
            ev_schema = w.register_schema(
                "lunasample.Event", "jsonschema", json.dumps(event_schema()).encode()
            )
            tm_ch = w.register_channel("/telemetry", "json", tm_schema)
            ev_ch = w.register_channel("/events", "json", ev_schema)
            for i, (s, msg) in enumerate(_telemetry_messages(dec)):
                w.add_message(
                    tm_ch,
                    log_time=_ns(s.t),
                    publish_time=s.board_ms * 1_000_000,
                    data=json.dumps(msg).encode(),
                    sequence=i,
                )
                n += 1
            for i, e in enumerate(dec.events):
                board_ms = e.fields.get("t")
                pub = int(board_ms) * 1_000_000 if isinstance(board_ms, int) else _ns(e.t)
                w.add_message(
                    ev_ch,
                    log_time=_ns(e.t),
                    publish_time=pub,
                    data=json.dumps({"kind": e.kind, "fields": e.fields}).encode(),
                    sequence=i,
                )
                n += 1
            w.finish()
    except BaseException:
        out.unlink(missing_ok=True)  # no half-written file left behind
        raise
    return n


def _ns(t: float) -> int:
    return int(round(t * 1e9))


def write_csv(dec: Decoded, out: Path) -> tuple[Path, Path]:
    """Telemetry to `out` (a row a sample, a column a field, units in the
    header) and events to `<stem>-events.csv` beside it."""
    _check_out(out)
    d = dictionary.load()
    ev_out = out.with_name(out.stem + "-events.csv")
    cols = []
    for n in dec.fields:
        unit = d.tm_field(n).get("unit")
        cols.append(f"{n} [{unit}]" if unit else n)
    written: list[Path] = []
    try:
        with open(out, "w", newline="", encoding="utf-8") as f:
            written.append(out)
            wr = csv.writer(f)
            wr.writerow(["host_time [s]", "board_time [s]", *cols])
            for s in dec.samples:
                wr.writerow(
                    [
                        f"{s.t:.6f}",
                        f"{s.board_ms / 1000:.3f}",
                        *(s.values.get(n, "") for n in dec.fields),
                    ]
                )
        with open(ev_out, "w", newline="", encoding="utf-8") as f:
            written.append(ev_out)
            wr = csv.writer(f)
            wr.writerow(["host_time [s]", "kind", "fields"])
            for e in dec.events:
                wr.writerow(
                    [f"{e.t:.6f}", e.kind, " ".join(f"{k}={v}" for k, v in e.fields.items())]
                )
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return out, ev_out
