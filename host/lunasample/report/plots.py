"""Mission plots (matplotlib, Agg backend): descent, sampling, rendezvous, re-entry, Gantt."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from lunasample.mission.outcome import FAIL, PASS  # noqa: E402
from lunasample.mission.runner import MissionResult  # noqa: E402

STATUS_COLOURS = {PASS: "tab:green", FAIL: "tab:red"}


def write_plots(result: MissionResult, out_dir: Path) -> list[Path]:
    """Write every plot the mission has data for; return the paths written."""
    written = [_timeline(result, out_dir / "timeline.png")]
    makers = (
        ("descent", "descent.png", _descent),
        ("rendezvous and docking", "rvd.png", _rvd),
        ("re-entry", "reentry.png", _reentry),
    )
    for phase, name, maker in makers:
        if phase in result.traces and _flown(result, phase):
            written.append(maker(result.traces[phase], out_dir / name))
    if result.sampling is not None:
        written.append(_sampling(result, out_dir / "sampling_mass.png"))
    return written


def _flown(result: MissionResult, phase: str) -> bool:
    return any(ph.name == phase and not math.isnan(ph.start_s) for ph in result.phases)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _descent(tr: dict[str, np.ndarray], path: Path) -> Path:
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    t = tr["t_s"]
    axes[0].plot(t, tr["altitude_m"] / 1000.0, color="tab:blue")
    axes[0].set_ylabel("altitude (km)")
    axes[0].set_title("Powered descent: braking, approach, hover, touchdown")
    axes[1].plot(t, tr["speed_m_s"], color="tab:orange")
    axes[1].set_ylabel("speed (m/s)")
    axes[2].plot(t, tr["thrust_n"], color="tab:red")
    axes[2].set_ylabel("thrust (N)")
    axes[2].set_xlabel("time from powered descent start (s)")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _sampling(result: MissionResult, path: Path) -> Path:
    s = result.sampling
    assert s is not None
    if s.drill_trace:
        fig = plt.figure(figsize=(9, 8.5))
        grid = fig.add_gridspec(3, 1, height_ratios=[3, 1, 1.6], hspace=0.45)
        ax = fig.add_subplot(grid[0])
        gantt = fig.add_subplot(grid[1], sharex=ax)
        _drill_depth(fig.add_subplot(grid[2]), s.drill_trace)
    else:
        fig, (ax, gantt) = plt.subplots(
            2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    t = np.array([p[0] for p in s.mass_timeline]) / 3600.0
    m = np.array([p[1] for p in s.mass_timeline])
    ax.step(t, m, where="post", color="tab:brown", label=f"container ({s.source})")
    for rec in s.records:
        marker = "v" if rec["kind"] == "core" else "o"
        ax.plot(
            rec["t_s"] / 3600.0,
            np.interp(rec["t_s"] / 3600.0, t, m),
            marker,
            color="black",
            markersize=4,
        )
    p = result.params
    for ref, label, style in (
        (p.sampling.target_g, "target", "-"),
        (p.reference.ce6_sample_g, "CE-6", "--"),
        (p.reference.ce5_sample_g, "CE-5", ":"),
    ):
        ax.axhline(ref, linestyle=style, color="grey", linewidth=1)
        ax.text(0.0, ref, f" {label} {ref:g} g", va="bottom", fontsize=8, color="grey")
    ax.set_ylabel("sample mass (g)")
    ax.set_title(
        f"Sampling: {s.mass_g:.0f} g, core {s.core_depth_mm} mm, {s.scoops} scoops; "
        f"{s.duration_s / 3600:.1f} h flight clock, {s.board_s:.0f} s board clock"
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    _step_lanes(gantt, s.steps)
    gantt.set_xlabel("flight clock: hours since sampling began")
    return _save(fig, path)


def _drill_depth(ax: plt.Axes, trace: list[tuple[float, float, int]]) -> None:
    """The core on the board's clock: depth over time, percussion shaded."""
    t = np.array([p[0] for p in trace])
    depth = np.array([p[1] for p in trace])
    hammer = np.array([p[2] for p in trace], dtype=bool)
    ax.plot(t, depth, color="tab:brown", linewidth=1.2, label="bit depth")
    ax.fill_between(
        t,
        0,
        depth.max(initial=1.0),
        where=hammer,
        step="post",
        color="tab:red",
        alpha=0.2,
        label="percussion",
    )
    ax.invert_yaxis()
    ax.set_xlabel("board clock: seconds since the drill step began")
    ax.set_ylabel("depth (mm)")
    ax.set_title("Drilling the core: rotary, percussive where rotation alone stalls", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)


# Where a step's flight time went, one lane each: the ground's work, the
# waits for the relay and for the thermal/power limits, the board running.
_LANES = (
    ("ground", "tab:blue"),
    ("relay wait", "lightgrey"),
    ("limit wait", "tab:orange"),
    ("board", "tab:brown"),
)


def _step_lanes(ax: plt.Axes, steps: list[dict]) -> None:
    t0 = steps[0]["ground_from_h"] if steps else 0.0
    spans: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in _LANES}
    for st in steps:
        ground_end = st["start_h"] - st["limit_wait_h"]
        # The relay waits fall between the ground's tasks: drawn after them.
        relay_from = ground_end - st["relay_wait_h"]
        spans["ground"].append((st["ground_from_h"] - t0, relay_from - st["ground_from_h"]))
        if st["relay_wait_h"] > 0:
            spans["relay wait"].append((relay_from - t0, st["relay_wait_h"]))
        if st["limit_wait_h"] > 0:
            spans["limit wait"].append((ground_end - t0, st["limit_wait_h"]))
        spans["board"].append((st["start_h"] - t0, st["end_h"] - st["start_h"]))
    for i, (name, colour) in enumerate(_LANES):
        ax.broken_barh(spans[name], (i - 0.4, 0.8), color=colour)
    for st in steps:
        if st["kind"] in ("drill", "end"):
            # The drill's stages with the ground's checks between; the seal.
            label = "drill stages" if st["kind"] == "drill" else "seal"
            ax.annotate(label, (st["start_h"] - t0, 3.45), fontsize=7, va="bottom")
    ax.set_yticks(range(len(_LANES)), [name for name, _ in _LANES], fontsize=8)
    ax.set_ylim(-0.6, len(_LANES) - 0.1)
    ax.grid(alpha=0.3, axis="x")


def _rvd(tr: dict[str, np.ndarray], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    along, radial = tr["along_m"] / 1000.0, tr["radial_m"] / 1000.0
    for ax, scale, unit in ((axes[0], 1.0, "km"), (axes[1], 1000.0, "m")):
        # NaN outside the window breaks the line instead of joining distant points.
        near = np.hypot(along, radial) * scale < (60.0 if scale == 1.0 else 1200.0)
        ax.plot(
            np.where(near, along, np.nan) * scale,
            np.where(near, radial, np.nan) * scale,
            color="tab:blue",
        )
        ax.plot(0, 0, "k*", markersize=10, label="target (ascender)")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"V-bar, along-track ({unit})")
        ax.set_ylabel(f"R-bar, radial ({unit})")
        ax.grid(alpha=0.3)
    axes[0].set_title("Clohessy-Wiltshire approach from 50 km behind, 10 km below")
    axes[1].set_title("Final approach along the V-bar")
    axes[0].legend(loc="lower right")
    return _save(fig, path)


def _reentry(tr: dict[str, np.ndarray], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    axes[0].plot(tr["speed_m_s"] / 1000.0, tr["altitude_m"] / 1000.0, color="tab:purple")
    axes[0].set_xlabel("speed (km/s)")
    axes[0].set_ylabel("altitude (km)")
    axes[0].invert_xaxis()
    axes[0].set_title("Skip re-entry: altitude vs speed")
    axes[1].plot(tr["t_s"], tr["altitude_m"] / 1000.0, color="tab:purple")
    axes[1].set_xlabel("time from entry interface (s)")
    axes[1].set_ylabel("altitude (km)")
    axes[1].set_title("Dip, skip and second entry")
    for ax in axes:
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _timeline(result: MissionResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 5))
    names = [ph.name for ph in result.phases]
    for i, ph in enumerate(result.phases):
        if math.isnan(ph.start_s):
            ax.text(0.1, i, "not flown", va="center", fontsize=8, color="grey")
            continue
        start_d, length_d = ph.start_s / 86400.0, (ph.end_s - ph.start_s) / 86400.0
        ax.barh(i, max(length_d, 0.15), left=start_d, color=STATUS_COLOURS[ph.status])
        ax.text(
            start_d + max(length_d, 0.15) + 0.3,
            i,
            _short(ph.end_s - ph.start_s),
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"days since launch ({result.epoch:%Y-%m-%d %H:%M} UTC)")
    verdict = "success" if result.success else "failed"
    ax.set_title(f"Mission timeline (seed {result.seed}, {verdict})")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _short(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"
