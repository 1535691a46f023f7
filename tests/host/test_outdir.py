"""Output paths are checked before any work: one line, exit 2, nothing left."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lunasample.errors import UserError
from lunasample.outdir import check_output_dir


@pytest.mark.parametrize(
    "argv",
    [
        ["mission", "--out", "/proc/x/y"],
        ["montecarlo", "-n", "5", "--out", "/proc/x/y"],
        ["faults", "run", "--out", "/proc/x/y"],
    ],
)
def test_an_unwritable_out_fails_in_one_line_before_work(argv: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "lunasample", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "/proc/x/y" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""  # no progress: no work began


def test_a_file_in_the_way_is_named(tmp_path: Path) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        check_output_dir(f)
    with pytest.raises(UserError, match="cannot write"):
        check_output_dir(f / "below")


def test_the_check_leaves_no_directory_behind(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c"
    assert check_output_dir(out) == out
    assert list(tmp_path.iterdir()) == []  # made to probe, then removed again
    out.mkdir(parents=True)
    check_output_dir(out)
    assert list(out.iterdir()) == []  # the probe file is gone too
