"""Monte Carlo outputs: runs.csv, summary.md and the sample-mass histogram."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

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
