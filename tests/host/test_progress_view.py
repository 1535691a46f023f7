from lunasample.commands.progress_view import rich_progress


def test_rich_progress_accepts_reports_for_several_tasks() -> None:
    with rich_progress() as progress:
        progress("montecarlo", 1, 4, "run 1 of 4")
        progress("sampling", 2.5, 10.0, "scoop 1 of 3")
        progress("montecarlo", 4, 4, "run 4 of 4")


def test_disabled_rich_progress_is_silent(capsys) -> None:
    with rich_progress(enabled=False) as progress:
        progress("x", 1, 2, "")
    assert capsys.readouterr().out == ""
