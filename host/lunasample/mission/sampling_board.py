"""The sampling phase on a board: the firmware drills, scoops, weighs and seals.

Implements the mission's Sampler protocol over the serial link with the
stepped SAMPLE command (docs/protocol.md): the board runs one step of the
campaign per ``SSTEP`` (the core drilled, the core sealed and weighed, one
scoop, the seal) and holds; each step's board time goes on the flight clock
(mission/groundloop.py) with the ground in the loop before it. The ground
decides when to stop: when the next scoop and the seal would not end within
the flight budget, it seals (``SSTEP end=1``). Every sample the board
journals is reported as an ``EV kind=sample`` frame, collected here.
"""

from __future__ import annotations

import threading

from lunasample.link.client import Frame, Link
from lunasample.mission.groundloop import CORE, DRILL, END, SCOOP, FlightClock
from lunasample.mission.params import MissionParams
from lunasample.mission.sampling import SamplerProgress, SamplingOutcome, step_rows
from lunasample.progress import ProgressFn, null_progress
from lunasample.session import Session

# Board time one step may take at most (the drill's core is the longest).
_STEP_TIMEOUT_S = 3600.0
# Board time the homing may take.
_HOME_TIMEOUT_S = 300.0
# Telemetry rate while the drill runs (its depth and percussion trace), Hz.
_TRACE_HZ = 5


class BoardSampler:
    """A Sampler that runs the sampling campaign on the board behind ``link``."""

    def __init__(
        self,
        link: Link,
        seal_estimate_s: float = 0.0,
        gravity_m_s2: float | None = None,
        report: ProgressFn = null_progress,
    ) -> None:
        self.link = link
        # Progress from what the board sends anyway: the drill's depth (TM dd),
        # the mass toward the target and the scoop count (each step's reply).
        self.report = report
        # The seal's board time, before the board has run it (the surrogate's figure).
        self.seal_estimate_s = seal_estimate_s
        # Where the scale weighs (the Moon for an emulated board, the rig's for a
        # real one); None leaves the board's grav_mm_s2 as it is.
        self.gravity_m_s2 = gravity_m_s2
        self._lock = threading.Lock()

    def sample(
        self,
        target_g: float,
        clock: FlightClock,
        site_seed: int,
        progress: SamplerProgress | None = None,
    ) -> SamplingOutcome:
        """Arm, home and run the campaign step by step toward ``target_g``."""
        link = self.link
        records: list[dict] = []
        timeline: list[tuple[float, float]] = [(0.0, 0.0)]
        flight_s = [0.0]  # where the flight clock is (the step in progress ends there)

        def on_event(fr: Frame) -> None:
            if fr.fields.get("kind") != "sample":
                return
            rec = {
                "kind": fr.fields.get("kind2", "?"),
                "site": fr.int("site", -1),
                "depth_mm": fr.int("depth"),
                "mass_g": fr.int("mg") / 1000.0,
                "record": fr.int("n", -1),
            }
            with self._lock:
                records.append(rec)

        # The drill's depth and percussion over its step, from telemetry.
        drill_trace: list[tuple[float, float, int]] = []
        recording = [False]

        def on_tm(fr: Frame) -> None:
            if recording[0] and "dd" in fr.fields and "t" in fr.fields:
                dd = fr.int("dd")
                drill_trace.append((fr.int("t") / 1000.0, float(dd), fr.int("dp")))
                self.report("drill", dd, max(depth_goal, dd), f"{dd} mm")

        # The campaign's own limits, read from the board (PARAM is immediate).
        depth_goal = link.command("PARAM", name="drill_depth_mm").int("value")
        max_scoops = link.command("PARAM", name="sample_max_scoops").int("value")
        link.subscribe("EV", on_event)
        link.subscribe("TM", on_tm)
        self._local_gravity()
        link.command("ARM")
        t0 = link.clock.board_ms
        link.run("HOME", timeout_board_s=_HOME_TIMEOUT_S)
        home_s = (link.clock.board_ms - t0) / 1000.0
        link.command("SAMPLE", target=int(round(target_g)), budget=86400, step=1)
        notes: list[str] = []
        total_g = 0.0
        depth_mm = 0
        rock = 0
        step = None
        scoops = 0
        while True:
            kind = _next_kind(step)
            end = kind == SCOOP and not bool(
                clock.room_for(SCOOP, self._scoop_estimate_s(clock), self.seal_estimate_s)[0]
            )
            if end:
                notes.append("flight_budget")
            recording[0] = kind == DRILL
            if kind == DRILL:
                # Telemetry for the drill's trace; the rate a ground station set comes back.
                before = link.command("TMRATE")
                link.command("TMRATE", hz=max(_TRACE_HZ, before.int("hz")))
            done = link.run("SSTEP", _STEP_TIMEOUT_S, **({"end": 1} if end else {}))
            if kind == DRILL:
                link.command("TMRATE", hz=before.int("hz"))
                self.report("drill", done.int("depth"), max(depth_goal, 1), "done")
            recording[0] = False
            step = done.fields["step"]
            board_s = done.int("ms") / 1000.0
            if step == DRILL:
                depth_mm = done.int("depth")
                rock = done.int("rock")
                placed = clock.place(DRILL, board_s + home_s, depth_mm)
            else:
                placed = clock.place(step, board_s)
            flight_s[0] = float(placed.end_h[0] - clock.start_h) * 3600.0
            if step in (CORE, SCOOP):
                total_g = done.int("total") / 1000.0
                with self._lock:
                    if records:
                        records[-1]["t_s"] = flight_s[0]
                        records[-1]["board_s"] = float(clock.total("board_s")[0])
                timeline.append((flight_s[0], total_g))
                if step == SCOOP:
                    scoops += 1
                self.report("sampling", total_g, target_g, f"scoop {scoops} of <= {max_scoops}")
                if progress is not None:
                    progress(flight_s[0], total_g)
                if done.int("more") == 0:
                    step = "last"
            if step == END:
                break
        link.command("DISARM")
        mass_g = done.int("mg") / 1000.0
        timeline.append((flight_s[0], mass_g))
        if done.fields.get("note"):
            notes.append(done.fields["note"])
        anomalies = [f"board: {n}" for n in notes if n != "flight_budget"]
        if "flight_budget" in notes and mass_g < target_g:
            anomalies.append("the flight-clock budget ended scooping before the target mass")
        if rock:
            anomalies.append("drill stopped on a rock layer before its target depth")
        hello = link.hello
        return SamplingOutcome(
            mass_g=mass_g,
            core_depth_mm=depth_mm,
            scoops=done.int("scoops"),
            duration_s=float(clock.flight_s[0]),
            records=[r for r in records if "t_s" in r],
            mass_timeline=timeline,
            sealed=done.int("sealed") == 1,
            anomalies=anomalies,
            source=f"firmware:{hello.board if hello else '?'}",
            board_s=float(clock.total("board_s")[0]),
            steps=step_rows(clock),
            drill_trace=[(t - drill_trace[0][0], d, h) for t, d, h in drill_trace],
        )

    def _local_gravity(self) -> None:
        """Tell the scale the local gravity and take its zero there: the empty
        container weighs a sixth on the Moon of what it did at calibration."""
        link, g = self.link, self.gravity_m_s2
        if g is None or link.hello is None or "scale" not in link.hello.caps:
            return
        link.command("PARAM", name="grav_mm_s2", value=int(round(g * 1000)))
        link.run("TARE", timeout_board_s=60)

    @staticmethod
    def _scoop_estimate_s(clock: FlightClock) -> float:
        """Board time the next scoop will take: the last scoop's, or the core step's."""
        for st in reversed(clock.steps):
            if st.kind in (SCOOP, CORE):
                return float(st.board_s[0])
        return 0.0


def board_sampler(
    session: Session, params: MissionParams, report: ProgressFn = null_progress
) -> BoardSampler:
    """The sampler for a session's board. An emulated board samples on the Moon:
    its load cell weighs at the site's gravity and the board is told so. A real
    board weighs where its rig stands, at the gravity it was calibrated with."""
    gravity = None
    if session.emulator is not None:
        gravity = params.site_gravity_m_s2
        session.emulator.set_plant(gravity_m_s2=gravity)
    return BoardSampler(session.link, params.sampling.surrogate.seal_s, gravity, report)


def _next_kind(done: str | None) -> str:
    """The step SSTEP runs after ``done`` ("last": the board said no more scoops)."""
    return {None: DRILL, DRILL: CORE, CORE: SCOOP, SCOOP: SCOOP}.get(done, END)
