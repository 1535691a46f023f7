"""The board's sample journal on the host: download (resumable, every record
checked against its own CRC from flash), CSV export, and the lookup a host
needs after a reboot: was the sample of my command recorded?

Wire format (docs/journal.md): `JLEN` -> n, first, last; `JGET from=N` ->
`r=<rec>/<rec>/...`, each record `n;t_ms;kind;site;depth_mm;mass_mg;flags;
seq;sid|CRC`, CRC-16/MCRF4XX of the text before '|' in four hex digits.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TextIO

from lunasample.errors import UserError
from lunasample.firmware.sampler import proto
from lunasample.link.client import Link

KINDS = {"C": "core", "S": "scoop", "M": "manual"}
FLAG_SETTLED = 1
FLAG_NOCAL = 2
FLAG_MANUAL = 4


class JournalError(UserError):
    """A journal record failed its checksum or the download went wrong."""


@dataclass(frozen=True)
class Record:
    """One sample record, as stored on the board."""

    n: int
    t_ms: int
    kind: str
    site: str
    depth_mm: int
    mass_mg: int
    flags: int
    seq: int
    sid: str

    @property
    def settled(self) -> bool:
        """The mass was a settled scale reading."""
        return bool(self.flags & FLAG_SETTLED)


COLUMNS = tuple(f.name for f in fields(Record))


def parse_record(text: str) -> Record:
    """Parse and check one record text (`body|CRC`); JournalError when damaged."""
    body, sep, crc = text.rpartition("|")
    if not sep or len(crc) != 4:
        raise JournalError(f"journal record without checksum: {text!r}")
    raw = body.encode("ascii", "replace")
    if f"{proto.crc16(raw, 0, len(raw)):04X}" != crc:
        raise JournalError(f"journal record fails its checksum: {text!r}")
    p = body.split(";")
    if len(p) != 9 or p[2] not in KINDS:
        raise JournalError(f"malformed journal record: {text!r}")
    try:
        return Record(
            int(p[0]),
            int(p[1]),
            KINDS[p[2]],
            p[3],
            int(p[4]),
            int(p[5]),
            int(p[6]),
            int(p[7]),
            p[8],
        )
    except ValueError:
        raise JournalError(f"malformed journal record: {text!r}") from None


def download(
    link: Link, start: int = 1, progress: Callable[[int, int], None] | None = None
) -> list[Record]:
    """Every record numbered >= start, oldest first, each checked.

    Resumable: pass the number after the last record you already hold.
    `progress(done, last)` is called after each reply.
    """
    info = link.command("JLEN")
    last = info.int("last")
    out: list[Record] = []
    n = max(start, info.int("first"), 1)
    while last and n <= last:
        r = link.command("JGET", **{"from": n}).fields.get("r", "")
        if not r:
            break  # the journal was cleared under us
        recs = [parse_record(t) for t in r.split("/")]
        for rec in recs:
            if rec.n < n or (out and rec.n <= out[-1].n):
                raise JournalError(f"journal records out of order at {rec.n}")
            out.append(rec)
        n = recs[-1].n + 1
        if progress:
            progress(n - 1, last)
    return out


def read_csv(path: Path) -> list[Record]:
    """Records from a CSV written by write_csv."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    out = []
    for i, row in enumerate(rows, 2):
        try:
            out.append(
                Record(
                    int(row["n"]),
                    int(row["t_ms"]),
                    row["kind"],
                    row["site"],
                    int(row["depth_mm"]),
                    int(row["mass_mg"]),
                    int(row["flags"]),
                    int(row["seq"]),
                    row["sid"],
                )
            )
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{path}:{i}: not a lunasample journal CSV row") from None
    return out


def to_csv(stream: TextIO, records: Iterable[Record], header: bool = True) -> None:
    """Write records as CSV rows to a text stream."""
    w = csv.writer(stream)
    if header:
        w.writerow(COLUMNS)
    for r in records:
        w.writerow(astuple(r))


def write_csv(path: Path, records: Iterable[Record], append: bool = False) -> None:
    """Write records as CSV (header unless appending to an existing file)."""
    exists = append and path.exists() and path.stat().st_size > 0
    try:
        with path.open("a" if append else "w", newline="") as f:
            to_csv(f, records, header=not exists)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror}") from None


def sync_csv(
    link: Link, path: Path, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Bring the CSV at `path` up to date with the board; (new, total) records.

    Only records after the last one in the file are fetched, so an
    interrupted download resumes where it stopped.
    """
    have = read_csv(path) if path.exists() and path.stat().st_size > 0 else []
    start = have[-1].n + 1 if have else 1
    new = download(link, start, progress)
    write_csv(path, new, append=bool(have))
    return len(new), len(have) + len(new)


def find_command(records: Iterable[Record], sid: str, seq: int) -> Record | None:
    """The record made by command `seq` of host session `sid`, if it was recorded."""
    for r in records:
        if r.sid == sid[:8] and r.seq == seq:
            return r
    return None
