"""The sampling phase on a board: the firmware drills, scoops, weighs and seals.

Implements the mission's Sampler protocol over the serial link with the
SAMPLE command (docs/protocol.md); every sample the board journals is
reported as an `EV kind=sample` frame, collected here for the report.
"""

from __future__ import annotations

import threading

from lunasample.link.client import Frame, Link
from lunasample.mission.sampling import SamplerProgress, SamplingOutcome

# Board time allowed beyond the campaign's own budget (homing, sealing).
_SLACK_S = 600.0


class BoardSampler:
    """A Sampler that runs the sampling campaign on the board behind `link`."""

    def __init__(self, link: Link, board_budget_s: float | None = None) -> None:
        self.link = link
        self.board_budget_s = board_budget_s
        self._lock = threading.Lock()

    def sample(
        self,
        target_g: float,
        budget_s: float,
        site_seed: int,
        progress: SamplerProgress | None = None,
    ) -> SamplingOutcome:
        """Arm, home and run SAMPLE to `target_g`; board seconds are mission seconds."""
        link = self.link
        budget = min(budget_s, self.board_budget_s or budget_s)
        records: list[dict] = []
        timeline: list[tuple[float, float]] = [(0.0, 0.0)]
        start_ms = link.clock.board_ms

        def on_event(fr: Frame) -> None:
            if fr.fields.get("kind") != "sample":
                return
            t_s = (link.clock.board_ms - start_ms) / 1000.0
            rec = {
                "t_s": t_s,
                "kind": fr.fields.get("kind2", "?"),
                "site": fr.int("site", -1),
                "depth_mm": fr.int("depth"),
                "mass_g": fr.int("mg") / 1000.0,
                "record": fr.int("n", -1),
            }
            total_g = fr.int("total") / 1000.0
            with self._lock:
                records.append(rec)
                timeline.append((t_s, total_g))
            if progress is not None:
                progress(t_s, total_g)

        link.subscribe("EV", on_event)
        link.command("ARM")
        link.run("HOME", timeout_board_s=300)
        done = link.run(
            "SAMPLE",
            timeout_board_s=budget + _SLACK_S,
            target=int(round(target_g)),
            budget=int(budget),
        )
        duration = (link.clock.board_ms - start_ms) / 1000.0
        link.command("DISARM")
        mass_g = done.int("mg") / 1000.0
        timeline.append((duration, mass_g))
        anomalies = [f"board: {done.fields['note']}"] if "note" in done.fields else []
        hello = link.hello
        return SamplingOutcome(
            mass_g=mass_g,
            core_depth_mm=done.int("depth"),
            scoops=done.int("scoops"),
            duration_s=duration,
            records=records,
            mass_timeline=timeline,
            sealed=done.int("sealed") == 1,
            anomalies=anomalies,
            source=f"firmware:{hello.board if hello else '?'}",
        )
