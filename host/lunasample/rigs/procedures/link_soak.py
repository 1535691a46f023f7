"""Link soak: telemetry at a fixed rate for N minutes of board time; no frame may be lost.

Lost frames are gaps in the board's sequence numbers seen by the host
(`Link.stats["rx_lost"]`); damaged frames are those the host could not
decode; `rxerr` (STATUS) counts frames the board could not decode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lunasample.rigs.procedure import Result, RigContext, Setting

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

TITLE = "link soak: N minutes of telemetry at a rate, zero lost or damaged frames"
MOVES = False
NEEDS: tuple[str, ...] = ()
SETTINGS = {
    "minutes": Setting(10.0, 0.05, 24 * 60, "soak duration, minutes of board time"),
    "rate_hz": Setting(50, 1, 100, "telemetry rate, frames per second", integer=True),
}
LIMITS = {
    "max_lost_frames": Setting(0, 0, 1e9, "frames lost on the way to the host", integer=True),
    "max_bad_frames": Setting(0, 0, 1e9, "frames the host could not decode", integer=True),
    "max_rxerr": Setting(0, 0, 1e9, "host frames the board could not decode", integer=True),
    "min_rate_ratio": Setting(0.9, 0, 1, "telemetry frames received / frames expected"),
}


def run(ctx: RigContext) -> Result:
    """Soak the link; see the module docstring."""
    minutes = ctx.setting("minutes")
    hz = int(ctx.setting("rate_hz"))
    link = ctx.link
    rxerr0 = ctx.command("STATUS").int("rxerr")
    lost0, bad0, retries0 = (link.stats[k] for k in ("rx_lost", "bad", "retries"))
    total_s = minutes * 60.0
    with ctx.telemetry(hz) as frames:
        while not frames:
            ctx.wait_board(0.1, "the soak")
        t0 = frames[0][0]
        while True:
            done = ctx.board_s() - t0
            ctx.progress(f"{done:.0f} of {total_s:.0f} board s", done, total_s)
            if done >= total_s:
                break
            ctx.wait_board(min(1.0, total_s - done), "the soak")
    rxerr = ctx.command("STATUS").int("rxerr") - rxerr0
    tm = [(t, f) for t, f in frames if t - t0 <= total_s]
    span = tm[-1][0] - tm[0][0] if len(tm) > 1 else 0.0
    gaps = [1000.0 * (b[0] - a[0]) for a, b in zip(tm, tm[1:], strict=False)]
    expected = span * hz + 1
    r = Result(columns=["board_s", "gap_ms", "free_heap", "overruns"])
    for i, (t, f) in enumerate(tm):
        r.rows.append(
            [
                round(t - t0, 3),
                round(gaps[i - 1], 1) if i else "",
                f.get("mem", ""),
                f.get("ovr", ""),
            ]
        )
    r.figure("tm_frames", len(tm), "frames", "telemetry frames received")
    r.figure("duration_s", span, "s", "board time covered by the soak")
    r.figure("rate_hz", (len(tm) - 1) / span if span else 0.0, "Hz", "telemetry rate achieved")
    r.figure(
        "rate_ratio",
        len(tm) / expected if expected else 0.0,
        "",
        "frames received / frames expected at the set rate",
    )
    r.figure(
        "lost_frames",
        link.stats["rx_lost"] - lost0,
        "frames",
        "board frames missing from the sequence the host received",
    )
    r.figure(
        "bad_frames",
        link.stats["bad"] - bad0,
        "frames",
        "frames the host could not decode (CRC, framing)",
    )
    r.figure("rxerr", rxerr, "frames", "host frames the board could not decode (STATUS rxerr)")
    r.figure("retries", link.stats["retries"] - retries0, "", "commands the host had to resend")
    r.figure("max_gap_ms", max(gaps) if gaps else 0.0, "ms", "longest gap between TM frames")
    heap = [int(f["mem"]) for _, f in tm if f.get("mem", "").lstrip("-").isdigit()]
    if heap:
        r.figure("min_free_heap", min(heap), "bytes", "least free heap seen on the board")

    def plot(fig: MplFigure) -> None:
        ax = fig.subplots()
        ax.plot([row[0] for row in r.rows[1:]], gaps, lw=0.8)
        ax.axhline(1000.0 / hz, color="grey", ls="--", lw=0.8, label="set period")
        ax.set_xlabel("board time (s)")
        ax.set_ylabel("gap between TM frames (ms)")
        ax.set_title(f"link soak at {hz} Hz")
        ax.legend()

    if gaps:
        r.plots["tm_gaps"] = plot
    return r
