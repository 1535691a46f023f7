"""report.md for one mission: summary table, sample mass against CE-5/CE-6, margins."""

from __future__ import annotations

import math
from pathlib import Path

from lunasample.mission.runner import MissionResult
from lunasample.report.timeline import timeline_rows

# Figures that are margins: (phase, figure, unit), shown in their own table.
MARGINS = (
    ("launch", "payload_margin_kg", "kg"),
    ("transfer", "mcc_total_m_s", "m/s"),
    ("lunar orbit insertion", "orbiter_propellant_kg", "kg"),
    ("descent", "propellant_margin_kg", "kg"),
    ("descent", "touchdown_speed_m_s", "m/s"),
    ("surface operations", "min_soc", ""),
    ("ascent", "propellant_margin_kg", "kg"),
    ("rendezvous and docking", "miss_m", "m"),
    ("rendezvous and docking", "closing_speed_m_s", "m/s"),
    ("trans-Earth injection", "orbiter_propellant_margin_kg", "kg"),
    ("re-entry", "peak_g", "g"),
    ("re-entry", "peak_heat_mw_m2", "MW/m^2"),
    ("landing", "landing_error_km", "km"),
)


def render(result: MissionResult) -> str:
    """The report as Markdown text."""
    p = result.params
    lines = [f"# Mission report: {p.mission.name}", ""]
    verdict = "SUCCESS" if result.success else f"FAILED in {result.failed_phase.name}"
    lines += [
        f"- Result: **{verdict}**",
        f"- Seed: {result.seed}; parameters: `{p.source}`",
        f"- Launch: {result.epoch:%Y-%m-%d %H:%M} UTC",
    ]
    end = max((ph.end_s for ph in result.phases if not math.isnan(ph.end_s)), default=0.0)
    lines.append(
        f"- Mission elapsed time: {end / 86400:.1f} d "
        f"(CE-6 reference {p.reference.ce6_duration_d:g} d)"
    )
    lines += [
        "",
        "## Phases",
        "",
        "| phase | status | start (UTC) | duration | key figures |",
        "|---|---|---|---|---|",
    ]
    for row, ph in zip(timeline_rows(result), result.phases, strict=True):
        dur = "" if math.isnan(ph.start_s) else _duration(ph.end_s - ph.start_s)
        figs = ", ".join(f"{k} {v:.4g}" for k, v in list(ph.figures.items())[:4])
        status = ph.status + (f": {ph.failure}" if ph.failure else "")
        lines.append(f"| {ph.name} | {status} | {row['start_utc'] or ''} | {dur} | {figs} |")
    lines += ["", "## Sample", ""]
    s = result.sampling
    if s is None:
        lines.append("No sampling was done.")
    else:
        lines += [
            "| | mass (g) | this mission as % of it |",
            "|---|---|---|",
            f"| this mission ({s.source}) | {s.mass_g:.1f} | |",
            f"| CE-5 (2020) | {p.reference.ce5_sample_g:g} | {100 * s.mass_g / p.reference.ce5_sample_g:.0f} % |",  # noqa: E501
            f"| CE-6 (2024) | {p.reference.ce6_sample_g:g} | {100 * s.mass_g / p.reference.ce6_sample_g:.0f} % |",  # noqa: E501
            "",
            f"Core {s.core_depth_mm} mm, {s.scoops} scoops, {s.duration_s / 3600:.1f} h of "
            f"sampling on the flight clock ({s.board_s:.0f} s on the board's), container "
            f"{'sealed' if s.sealed else 'NOT sealed'}. "
            f"Returned to Earth: {result.returned_g:.1f} g.",
        ]
        lines += _steps_table(s.steps)
    lines += ["", "## Margins", "", "| phase | figure | value |", "|---|---|---|"]
    by_name = {ph.name: ph for ph in result.phases}
    for phase, fig, unit in MARGINS:
        value = by_name[phase].figures.get(fig)
        if value is not None:
            lines.append(f"| {phase} | {fig} | {value:.4g} {unit} |")
    lines += ["", "## Anomalies", ""]
    anomalies = [(ph.name, a) for ph in result.phases for a in ph.anomalies]
    lines += [f"- {name}: {text}" for name, text in anomalies] or ["None."]
    lines += ["", "Plots: descent.png, sampling_mass.png, rvd.png, reentry.png, timeline.png.", ""]
    return "\n".join(lines)


def _steps_table(steps: list[dict]) -> list[str]:
    """The campaign's steps on both clocks: where each step's flight time went."""
    if not steps:
        return []
    lines = [
        "",
        "### Sampling on two clocks",
        "",
        "Each step runs on the board in its own time; on the Moon it first waits for the "
        "ground (images down, assessment, approval, commands up), for the relay to be "
        "above the horizon and for the thermal and power limits.",
        "",
        "| step | flight start (h after landing) | flight span (h) | ground (h) "
        "| relay wait (h) | limit wait (h) | board (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for st in steps:
        span = st["end_h"] - st["ground_from_h"]
        lines.append(
            f"| {st['kind']} | {st['ground_from_h']:.2f} | {span:.2f} | {st['ground_h']:.2f} "
            f"| {st['relay_wait_h']:.2f} | {st['limit_wait_h']:.2f} | {st['board_s']:.1f} |"
        )
    return lines


def write_report(result: MissionResult, out_dir: Path) -> Path:
    """Write ``report.md``; return its path."""
    path = out_dir / "report.md"
    path.write_text(render(result))
    return path


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.2f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds / 60:.1f} min"
