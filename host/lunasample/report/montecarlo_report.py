"""Monte Carlo outputs: runs.csv, summary.md, the sample-mass histogram, and with the
firmware sampling, the surrogate against the firmware."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from lunasample.mission.firmware_mc import FirmwareMonteCarlo, comparison  # noqa: E402
from lunasample.mission.flight import PHASES, STATUS_FAIL  # noqa: E402
from lunasample.mission.montecarlo import (  # noqa: E402
    MonteCarloResult,
    phase_table,
    wilson_interval,  # noqa: E402
)


def write_montecarlo(result: MonteCarloResult, out_dir: str | Path) -> list[Path]:
    """Write runs.csv, summary.md and mass_histogram.png; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        _runs_csv(result, out / "runs.csv"),
        _summary(result, out / "summary.md"),
        _histogram(result, out / "mass_histogram.png"),
    ]


def _runs_csv(r: MonteCarloResult, path: Path) -> Path:
    failed = r.status == STATUS_FAIL
    first = np.where(failed.any(axis=0), failed.argmax(axis=0), -1)
    keys = list(r.figures)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["run", "success", "failed_phase", "failure", "sample_mass_g", "returned_g", *keys]
        )
        cols = [np.round(r.figures[k], 4) for k in keys]
        for i in range(r.n):
            k = int(first[i])
            phase = PHASES[k] if k >= 0 else ""
            cause = r.failure_text[k][int(r.failure[k, i])] if k >= 0 else ""
            w.writerow(
                [
                    i,
                    int(k < 0),
                    phase,
                    cause,
                    round(float(r.mass_g[i]), 2),
                    round(float(r.returned_g[i]), 2),
                    *(float(c[i]) for c in cols),
                ]
            )
    return path


def _summary(r: MonteCarloResult, path: Path) -> Path:
    ok = int(r.success.sum())
    lo, hi = wilson_interval(ok, r.n)
    p = r.params
    returned = r.returned_g[r.success]
    lines = [
        f"# Monte Carlo summary: {p.mission.name}",
        "",
        f"- Runs: {r.n}, seed {r.seed}, parameters `{p.source}`",
        f"- Mission success: **{ok / r.n:.2%}** (95 % Wilson interval {lo:.2%} - {hi:.2%})",
    ]
    if returned.size:
        q = np.percentile(returned, [5, 50, 95])
        lines.append(
            f"- Returned sample (successful runs): median {q[1]:.0f} g, "
            f"5-95 % {q[0]:.0f}-{q[2]:.0f} g; CE-5 {p.reference.ce5_sample_g:g} g, "
            f"CE-6 {p.reference.ce6_sample_g:g} g"
        )
        lines.append(
            f"- Successful runs returning more than CE-6: "
            f"{np.mean(returned > p.reference.ce6_sample_g):.1%}"
        )
    lines += [
        "",
        "## Success per phase (given it was flown)",
        "",
        "| phase | flown | passed | P(pass) | 95 % CI | failures |",
        "|---|---|---|---|---|---|",
    ]
    for row in phase_table(r):
        causes = "; ".join(f"{t} ({k})" for t, k in row["failures"].items()) or "-"
        lines.append(
            f"| {row['phase']} | {row['flown']} | {row['passed']} | {row['p']:.4f} | "
            f"{row['lo']:.4f} - {row['hi']:.4f} | {causes} |"
        )
    lines += ["", "## Non-critical anomalies (runs)", ""]
    anomalies = [
        (row["phase"], t, k) for row in phase_table(r) for t, k in row["anomalies"].items() if k
    ]
    lines += [f"- {ph}: {t}: {k}" for ph, t, k in anomalies] or ["None."]
    lines += [
        "",
        "## Key figures over all flown runs (5 / 50 / 95 %)",
        "",
        "| figure | 5 % | 50 % | 95 % |",
        "|---|---|---|---|",
    ]
    for key, values in r.figures.items():
        finite = values[np.isfinite(values)]
        if finite.size:
            q = np.percentile(finite, [5, 50, 95])
            lines.append(f"| {key} | {q[0]:.4g} | {q[1]:.4g} | {q[2]:.4g} |")
    lines += ["", "Files: runs.csv (one row per run), mass_histogram.png.", ""]
    path.write_text("\n".join(lines))
    return path


def _histogram(r: MonteCarloResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    returned = r.returned_g[r.success]
    if returned.size:
        ax.hist(returned, bins=60, color="tab:brown", alpha=0.85, label="returned (successes)")
    p = r.params
    for ref, label, style in (
        (p.reference.ce5_sample_g, "CE-5", ":"),
        (p.reference.ce6_sample_g, "CE-6", "--"),
        (p.sampling.target_g, "target", "-"),
    ):
        ax.axvline(ref, color="black", linestyle=style, linewidth=1, label=f"{label} {ref:g} g")
    ax.set_xlabel("sample mass returned (g)")
    ax.set_ylabel("runs")
    ax.set_title(f"Returned sample mass, {r.n} runs, {r.success.mean():.1%} success")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_firmware_comparison(fmc: FirmwareMonteCarlo, out_dir: str | Path) -> list[Path]:
    """firmware_runs.csv, surrogate_vs_firmware.md and surrogate_fit.toml; their paths."""
    out = Path(out_dir)
    runs_path = out / "firmware_runs.csv"
    with runs_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["run", "site_seed", "mass_g", "scoops", "core_depth_mm", "flight_h", "board_s"]
            + ["sealed", "surrogate_mass_g", "surrogate_scoops", "surrogate_flight_h"]
        )
        for r in fmc.runs:
            s = fmc.surrogate
            w.writerow(
                [r.run, r.site_seed, round(r.mass_g, 3), r.scoops, round(r.core_depth_mm, 1)]
                + [round(r.duration_s / 3600.0, 4), round(r.clock["board_s"], 3), int(r.sealed)]
                + [
                    round(float(s.mass_g[r.run]), 3),
                    int(s.figures["sampling.scoops"][r.run]),
                    round(float(s.figures["sampling.duration_h"][r.run]), 4),
                ]
            )
    md_path = out / "surrogate_vs_firmware.md"
    lines = [
        "# The surrogate against the firmware",
        "",
        f"{len(fmc.runs)} runs (seed {fmc.firmware.seed}): each run's sampling on the "
        "firmware (an emulated board in lockstep), and on the same draws with the numpy "
        "surrogate, before and after fitting its constants to the firmware's steps "
        "(surrogate_fit.toml). MAE: mean absolute error per run.",
        "",
        "| figure | firmware mean | surrogate mean | surrogate MAE | fitted mean | fitted MAE |",
        "|---|---|---|---|---|---|",
    ]
    for row in comparison(fmc):
        lines.append(
            f"| {row['figure']} | {row['firmware_mean']:.4g} | {row['surrogate_mean']:.4g} "
            f"| {row['surrogate_mae']:.4g} | {row['fitted_mean']:.4g} | {row['fitted_mae']:.4g} |"
        )
    md_path.write_text("\n".join(lines) + "\n")
    fit_path = out / "surrogate_fit.toml"
    before = fmc.firmware.params.sampling.surrogate
    body = [
        "# The surrogate's constants fitted to firmware runs (lunasample montecarlo --firmware);",
        "# use with --params. Only the fitted keys are listed.",
        "[sampling.surrogate]",
    ]
    for f in dataclasses.fields(fmc.fitted):
        new, old = getattr(fmc.fitted, f.name), getattr(before, f.name)
        if new != old:
            body.append(f"{f.name} = {float(new)!r}  # was {old!r}")
    fit_path.write_text("\n".join(body) + "\n")
    return [runs_path, md_path, fit_path]
