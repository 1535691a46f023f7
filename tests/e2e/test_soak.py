"""A short soak (the long one is benchmarks/bench_soak.py): telemetry on,
drill cycling, no heap growth and no lost frames."""

from __future__ import annotations

from lunasample.faults.soak import soak


def test_short_soak_keeps_heap_and_frames() -> None:
    r = soak(board_seconds=300, tm_hz=10, sample_every_s=30)
    assert r.board_s >= 300
    # ~10 Hz for 300 board seconds, and the link counted every one of them.
    assert r.tm_frames >= 0.9 * 10 * 300
    assert r.frames_lost == 0
    assert len(r.mem_free) >= 10
    # Live heap after a GC does not grow: within 1 KB of the post-warm-up level.
    assert r.heap_drift_bytes > -1024, r.mem_free
