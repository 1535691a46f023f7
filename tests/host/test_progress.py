from lunasample.progress import ProgressFn, RecordingProgress, null_progress


def _work(n: int, progress: ProgressFn = null_progress) -> int:
    total = 0
    for i in range(n):
        total += i
        progress("sum", i + 1, n, f"item {i + 1} of {n}")
    return total


def test_null_progress_accepts_reports() -> None:
    assert _work(3) == 3


def test_recording_progress_keeps_reports_in_order() -> None:
    rec = RecordingProgress()
    assert _work(3, rec) == 3
    assert [c[1] for c in rec.calls] == [1, 2, 3]
    assert rec.last("sum") == (3, 3, "item 3 of 3")
    assert rec.last("other") is None
