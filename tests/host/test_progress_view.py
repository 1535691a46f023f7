import argparse
import io

from rich.console import Console

from lunasample.commands.progress_view import progress_enabled, rich_progress


def test_rich_progress_accepts_reports_for_several_tasks() -> None:
    with rich_progress() as progress:
        progress("montecarlo", 1, 4, "run 1 of 4")
        progress("sampling", 2.5, 10.0, "scoop 1 of 3")
        progress("montecarlo", 4, 4, "run 4 of 4")


def test_disabled_rich_progress_is_silent(capsys) -> None:
    with rich_progress(enabled=False) as progress:
        progress("x", 1, 2, "")
    assert capsys.readouterr().out == ""


def test_progress_only_on_a_terminal_and_not_under_quiet() -> None:
    tty = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert progress_enabled(argparse.Namespace(quiet=False), tty)
    assert not progress_enabled(argparse.Namespace(quiet=True), tty)
    assert not progress_enabled(argparse.Namespace(quiet=False), pipe)


def test_paused_bars_come_back() -> None:
    con = Console(file=io.StringIO(), force_terminal=True)
    with rich_progress(console=con) as bars:
        bars("rig", 1, 2, "step")
        with bars.paused():
            pass
        bars("rig", 2, 2, "done")
    assert "rig" in con.file.getvalue()
