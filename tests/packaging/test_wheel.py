"""A wheel built from the repository works outside it: parameters, board
files, rig descriptions and firmware sources ship inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The wheel installed into a fresh directory with nothing of the source
    tree on the path; its dependencies come from this environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("lunasample-*.whl")
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    deps = sysconfig.get_paths()["purelib"]
    env = dict(
        os.environ,
        PYTHONPATH=f"{site}{os.pathsep}{deps}",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    work = tmp / "work"
    work.mkdir()
    return work, env


def _lunasample(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # -P would drop the cwd from sys.path; the work directory holds nothing anyway.
    return subprocess.run(
        [sys.executable, "-m", "lunasample", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_the_wheel_carries_the_data_files(installed: tuple[Path, dict[str, str]]) -> None:
    work, _ = installed
    (wheel,) = (work.parent / "dist").glob("lunasample-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for need in (
        "lunasample/mission/params.toml",
        "lunasample/boards/esp32_devkitc.json",
        "lunasample/test_rigs/emulator/rig.toml",
        "lunasample/firmware/main.py",
        "lunasample/firmware/sampler/app.py",
        "lunasample/dictionary/dictionary.toml",
        "lunasample/emulator/sim/machine.py",
        "lunasample/emulator/pico/run.js",
        "lunasample/emulator/pico/package.json",
        "lunasample/gds/static/index.html",
    ):
        assert need in names, need


def test_installed_wheel_runs_a_mission_and_a_rig_procedure(
    installed: tuple[Path, dict[str, str]],
) -> None:
    work, env = installed
    where = _lunasample(work, env, "ports")
    assert where.returncode == 0, where.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import lunasample, sys; print(lunasample.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert str(ROOT) not in probe.stdout, probe.stdout  # the installed copy, not the tree
    # The packaged parameters under a short campaign (a core and a scoop or
    # two): the firmware, the boards and params.toml all come from the wheel.
    (work / "short.toml").write_text("[sampling]\ntarget_g = 400.0\nmin_return_g = 200.0\n")
    m = _lunasample(work, env, "mission", "--params", "short.toml", "--out", "out")
    assert m.returncode == 0, m.stdout[-2000:] + m.stderr[-2000:]
    assert (work / "out" / "timeline.csv").is_file()
    r = _lunasample(work, env, "rig", "run", "scale_calibration", "--yes", "--out", "rig")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert any((work / "rig").iterdir())
    # The rig model is built from the installed procedures: the schema has them all.
    sc = _lunasample(work, env, "schema", "rig")
    assert sc.returncode == 0, sc.stderr
    assert "scale_calibration" in json.loads(sc.stdout)["$defs"]["Procedures"]["properties"]
