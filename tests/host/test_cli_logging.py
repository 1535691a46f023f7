import logging
from pathlib import Path

import pytest

from lunasample.cli import main


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)


def test_unwritable_log_file_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log-file", "/proc/x/y", "ports"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--log-file /proc/x/y" in err


def test_log_file_receives_debug_records(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    assert main(["--log-file", str(log), "ports"]) == 0
    logging.getLogger("lunasample.test").debug("probe record")
    assert "probe record" in log.read_text()
