"""Write every output of one mission into a directory."""

from __future__ import annotations

from pathlib import Path

from lunasample.mission.runner import MissionResult
from lunasample.report.markdown import write_report
from lunasample.report.plots import write_plots
from lunasample.report.timeline import write_timeline


def write_outputs(result: MissionResult, out_dir: str | Path) -> list[Path]:
    """timeline.csv/json, report.md and the plots; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [*write_timeline(result, out), write_report(result, out), *write_plots(result, out)]
