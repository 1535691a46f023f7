"""docs/protocol.md: its example frames and packed values are what the codec
produces, and its generated tables and the firmware's generated constants
are what the dictionary gives."""

from __future__ import annotations

import ast
import re

from lunasample.dictionary import generate
from lunasample.firmware.sampler import packed, proto
from tests.conftest import ROOT

DOC = ROOT / "docs" / "protocol.md"


def _blocks(kind: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    lines = []
    for body in re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S):
        lines += [ln for ln in body.splitlines() if ln.strip()]
    return lines


def test_every_example_frame_decodes_and_encodes_back_byte_for_byte() -> None:
    frames = _blocks("frames")
    assert len(frames) >= 15
    for line in frames:
        seq, mtype, fields = proto.decode(line.encode())  # FrameError on a wrong CRC
        assert proto.encode(seq, mtype, fields) == line.encode() + b"\n", line
        assert len(line) + 1 <= proto.MAX_FRAME


def test_the_scoop_example_has_the_codecs_crc() -> None:
    assert "$17,SCOOP,site=3*575A" in _blocks("frames")
    assert proto.crc16(b"17,SCOOP,site=3", 0, 15) == 0x575A


def test_every_packed_example_is_what_pack_gives() -> None:
    rows = _blocks("packed")
    assert rows
    for row in rows:
        values, text = row.split(" -> ")
        want = ast.literal_eval(values)
        assert packed.pack(want) == text, row
        assert packed.unpack(text) == want, row


def test_generated_blocks_are_current() -> None:
    stale = generate.sync(write=False, root=ROOT)
    assert stale == [], f"run `lunasample dict --write`: stale {stale}"


def test_a_stale_block_is_found(tmp_path) -> None:
    # The check can fail: a copy of the tree with one error code renamed.
    for rel in ("firmware/sampler", "docs"):
        (tmp_path / rel).mkdir(parents=True)
    for rel in (
        "firmware/sampler/proto.py",
        "firmware/sampler/safety.py",
        "firmware/sampler/comms.py",
        "docs/protocol.md",
    ):
        (tmp_path / rel).write_text((ROOT / rel).read_text())
    p = tmp_path / "firmware/sampler/proto.py"
    p.write_text(p.read_text().replace('"too_long"', '"too_big"'))
    assert generate.sync(write=False, root=tmp_path) == [p]
    generate.sync(write=True, root=tmp_path)
    assert generate.sync(write=False, root=tmp_path) == []
    assert '"too_long"' in p.read_text()
