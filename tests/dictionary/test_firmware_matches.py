"""The firmware as built for each board file registers exactly the
dictionary's commands, sends only dictionary telemetry fields (ints), and
declares the dictionary's parameters with its defaults and ranges (run in the
micropython binary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lunasample import dictionary, paths
from tests.conftest import run_micropython

SCRIPT = """
import json
from sampler import app, safety
ctx, loop = app.build()
out = []
for src in ctx.comms.tm_sources:
    src(out)
print(json.dumps({
    "commands": sorted(ctx.comms.handlers),
    "caps": sorted(ctx.sub),
    "tm": [[k, type(v) is int] for k, v in out],
    "sel": ctx.comms.tm_selected(),
    "params": {n: list(ctx.params.spec(n)) for n in ctx.params.names()},
}))
"""


def _built(board_name: str, tmp_path: Path) -> dict[str, object]:
    (tmp_path / "board.json").write_text(json.dumps(paths.load_board(board_name)))
    r = run_micropython(SCRIPT, heap_kb=512, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("board_name", ["emulator", "esp32_devkitc"])
def test_firmware_and_dictionary_agree(board_name: str, tmp_path: Path) -> None:
    d = dictionary.load()
    board = paths.load_board(board_name)
    got = _built(board_name, tmp_path)
    caps = set(got["caps"]) | {"core"}  # type: ignore[arg-type]
    want = sorted(c["name"] for c in d.commands if c["group"] in caps and c["kind"] != "none")
    assert got["commands"] == want
    names = {t["name"] for t in d.telemetry}
    for key, is_int in got["tm"]:  # type: ignore[attr-defined]
        assert key in names and is_int, key
    sent = {d.tm_by_char(c)["name"] for c in got["sel"]}  # type: ignore[index,union-attr]
    assert sent == {t["name"] for t in d.telemetry if t["group"] in caps}
    params = got["params"]
    assert sorted(params) == sorted(p["name"] for p in d.params if p["group"] in caps)
    for name, (default, lo, hi) in params.items():  # type: ignore[union-attr]
        p = d.param(name)
        assert (lo, hi) == d.arg_range(p, board), name
        if not p.get("max_board"):
            assert default == p["default"], name


def test_states_and_reasons_match() -> None:
    d = dictionary.load()
    r = run_micropython(
        "import json\nfrom sampler import safety as S\n"
        "print(json.dumps([S.STATE_NAMES, S.REASON_NAMES, S.FAULT_NAMES]))"
    )
    assert r.returncode == 0, r.stderr
    states, reasons, faults = json.loads(r.stdout)
    assert states == d.enum("states") == d.protocol["states"]
    assert reasons == d.protocol["reasons"]
    assert faults == d.enum("faults")
