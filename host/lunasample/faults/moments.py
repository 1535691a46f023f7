"""Faults at random moments: each kind of fault is injected at seeded
random moments of a sampling campaign (SAMPLE) on one emulated board, in
the phases where it can act (any time, while the drill cuts, while the arm
scoops), and each time the board's answer is measured on its own clock:

- detection: fault switched on in the simulated world to the board's fault
  event (EV kind=fault, its `t`), board ms;
- actuators: the last step pulse or motor duty after that event, board ms
  (the goal: none later than one control tick);
- records: every sample the host saw acknowledged is in the journal at the
  end, exactly once.

After each moment the fault is switched off, the board RESET (twice where
a first RESET only tells the cause), ARMed, HOMEd when the arm lost its
positions, and the campaign started again; the journal grows across them.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lunasample.errors import UserError
from lunasample.faults.scenarios import Run
from lunasample.link.client import CommandRejected, Frame

TICK_MS = 1.0  # the emulator board's control tick (1 kHz)
_WAIT_REAL_S = 120.0


def _null_progress(task: str, done: float, total: float, detail: str) -> None:
    pass


@dataclass(frozen=True)
class Kind:
    """One kind of fault: the world's switch, where it acts, what it must give."""

    name: str
    fault: str  # the emulator's fault switch (docs/emulator.md)
    value: int
    phase: str  # "any", "drill" (the bit cutting) or "scoop" (the arm scooping)
    expect: tuple[str, ...]  # fault names that are the right answer
    goal_ms: float  # detection goal, board ms


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("estop_pressed", "estop_press", 1, "any", ("estop_input",), TICK_MS),
        Kind("estop_wire_cut", "estop_cut", 1, "any", ("estop_input",), TICK_MS),
        Kind("limit_wire_cut", "limit_wire_cut", 4, "any", ("limit_switch",), 50.0),
        Kind("encoder_wire_cut", "encoder_cut", 1, "drill", ("encoder_lost",), 250.0),
        Kind("adc_over_range", "adc_overrange", 1, "drill", ("adc_range",), 100.0),
        Kind(
            "hx711_disconnected",
            "hx711_disconnect",
            1,
            "any",
            ("scale_rate", "scale_timeout"),
            1000.0,
        ),
        Kind("drill_stall", "motor_stall", 1, "drill", ("drill_stall",), 250.0),
        Kind("encoder_loss", "encoder_loss", 1, "drill", ("encoder_lost",), 250.0),
        Kind("hx711_stuck", "hx711_stuck", 1, "any", ("scale_stuck",), 1000.0),
        Kind("arm_stall", "arm_stall", 2, "scoop", ("arm_stall",), 100.0),
    )
}
# How long after its phase starts a moment may fall, board s.
_SPREAD_S = {"any": 150.0, "drill": 6.0, "scoop": 6.0}


@dataclass
class Moment:
    """One injection."""

    at_s: float  # board s after the campaign's (re)start
    phase: str  # the campaign phase it fell in (telemetry cp)
    reported: str = ""
    detect_ms: float | None = None
    cut_ms: float | None = None  # last actuation after the report


@dataclass
class KindResult:
    """A kind's moments and the journal after them."""

    kind: str
    moments: list[Moment] = field(default_factory=list)
    acked: int = 0
    recovered: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def detect_max_ms(self) -> float | None:
        v = [m.detect_ms for m in self.moments if m.detect_ms is not None]
        return max(v) if v else None

    @property
    def detect_median_ms(self) -> float | None:
        v = [m.detect_ms for m in self.moments if m.detect_ms is not None]
        return statistics.median(v) if v else None

    @property
    def cut_max_ms(self) -> float | None:
        v = [m.cut_ms for m in self.moments if m.cut_ms is not None]
        return max(v) if v else None

    @property
    def passed(self) -> bool:
        return not self.failures and self.acked == self.recovered


_PHASES = ("idle", "drill", "pre", "scoop", "weigh", "seal_pre", "seal", "seal_weigh")


class _Board(Run):
    """A scenario Run that also follows the campaign's phase from telemetry."""

    def __init__(self, workdir: Path, seed: int) -> None:
        super().__init__(workdir, seed)
        self.cp = 0
        self.df = 0
        self.faults: list[tuple[int, str]] = []  # (board ms, name) of every fault event

    def start(self) -> None:
        super().start()
        assert self.link is not None
        self.link.subscribe("TM", self._on_tm)
        self.link.command("TMRATE", hz=50)
        self.link.command("PARAM", name="drill_depth_mm", value=60)  # a short core

    def connect(self):  # type: ignore[no-untyped-def]
        link = super().connect()
        link.subscribe("EV", self._on_fault)
        return link

    def _on_tm(self, fr: Frame) -> None:
        self.cp = fr.int("cp", self.cp)
        self.df = fr.int("df", self.df)

    def _on_fault(self, fr: Frame) -> None:
        if fr.fields.get("kind") == "fault":
            self.faults.append((fr.int("t"), fr.fields.get("name", "?")))

    def board_us(self) -> int:
        return int(self.board.query()["t_us"])

    def recover(self) -> None:
        """Back to ARMED and homed, ready for the next campaign."""
        assert self.link is not None
        why = ""
        for _ in range(20):
            if self.link.command("STATUS").fields["st"] != "FAULT":
                break
            try:
                self.link.command("RESET")
            except CommandRejected as e:
                # A first RESET may only tell the cause; a sensor may need a
                # conversion or two to show its cause gone.
                why = e.text
                self.settle(0.2)
        else:
            raise TimeoutError(f"the board stays in FAULT: {why}")
        if self.link.command("STATUS").fields["st"] == "SAFE":
            self.link.command("ARM")
        if self.link.command("ASTAT").int("homed") != 1:
            self.link.run("HOME", timeout_board_s=300)


def _wait(what: str, pred: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _WAIT_REAL_S
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def run_kind(
    kind: Kind,
    moments: int,
    seed: int,
    workdir: Path,
    progress: Callable[[str, float, float, str], None] = _null_progress,
) -> KindResult:
    """Inject `kind` at `moments` seeded random moments on one fresh board."""
    rng = random.Random(f"{kind.name}:{seed}")
    res = KindResult(kind.name)
    run = _Board(workdir / kind.name, seed)
    try:
        run.start()
        assert run.link is not None
        run.link.command("ARM")
        run.link.run("HOME", timeout_board_s=300)
        for i in range(moments):
            progress(kind.name, i, moments, "")
            run.recover()
            ack = run.link.command("SAMPLE", target=600, budget=3600)
            run.sample_seq = ack.int("re")
            t0 = run.board_us()
            if kind.phase == "drill":
                _wait("drilling", lambda: run.df == 3)
            elif kind.phase == "scoop":
                _wait("a scoop", lambda: run.cp == 3)
            t_phase = run.board_us()
            delay_us = rng.uniform(0.0, _SPREAD_S[kind.phase]) * 1e6
            # A moment beyond the campaign's end falls where it ends.
            _wait(
                "the moment",
                lambda t=t_phase, d=delay_us: (
                    run.board_us() - t >= d or run.sample_done() is not None
                ),
            )
            n_faults = len(run.faults)
            m = Moment(at_s=(run.board_us() - t0) / 1e6, phase=_PHASES[run.cp])
            run.board.inject(kind.fault, kind.value)
            try:
                _wait(f"fault {kind.expect[0]}", lambda n=n_faults: len(run.faults) > n)
            except TimeoutError as e:
                res.failures.append(f"moment {i} ({m.phase}): {e}")
                res.moments.append(m)
                run.board.inject(kind.fault, 0)
                run.link.command("STOP")
                continue
            t_ms, name = run.faults[n_faults]
            q = run.board.query()
            on_us = q["fault_on_us"][kind.fault]
            if kind.fault == "arm_stall":
                # From its first effect: a joint at rest cannot stall.
                on_us = max(on_us, q["plants"]["arm"]["stall_since_us"])
            m.reported = name
            m.detect_ms = max(0.0, (t_ms * 1000 - on_us) / 1000.0)
            run.settle(0.5)
            q = run.board.query()
            m.cut_ms = max(0.0, (q["last_actuation_us"] - t_ms * 1000) / 1000.0)
            res.moments.append(m)
            if name not in kind.expect:
                res.failures.append(f"moment {i} ({m.phase}): reported {name}")
            elif m.detect_ms > kind.goal_ms + TICK_MS:
                res.failures.append(f"moment {i} ({m.phase}): detected after {m.detect_ms:.1f} ms")
            elif m.cut_ms > TICK_MS:
                res.failures.append(
                    f"moment {i} ({m.phase}): an actuator {m.cut_ms:.1f} ms after the report"
                )
            run.board.inject(kind.fault, 0)
            run.board.query()  # answered once the switch is off
            _wait("the campaign's end", lambda: run.sample_done() is not None)
            run.done.clear()
        progress(kind.name, moments, moments, "")
        out = _Journal()
        run.check_journal(out)  # type: ignore[arg-type]
        res.acked, res.recovered = out.acked, out.recovered
    except (TimeoutError, UserError, CommandRejected) as e:
        res.failures.append(str(e))
    finally:
        run.close()
    return res


@dataclass
class _Journal:
    acked: int = 0
    recovered: int = 0
    notes: list[str] = field(default_factory=list)


def run_moments(
    names: Sequence[str] | None = None,
    moments: int = 20,
    seed: int = 1,
    progress: Callable[[str, float, float, str], None] = _null_progress,
) -> list[KindResult]:
    """Every kind (or the named ones) at `moments` random moments each."""
    chosen = list(names or KINDS)
    for n in chosen:
        if n not in KINDS:
            raise UserError(f"unknown fault kind {n!r}: choose from {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="lunasample-moments-") as tmp:
        return [run_kind(KINDS[n], moments, seed, Path(tmp), progress) for n in chosen]


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def table(results: Sequence[KindResult]) -> str:
    """The campaign table (markdown): each kind with its detection time."""
    lines = [
        "| fault kind | moments | phases | reported | detect median / max (ms) | goal (ms) "
        "| actuator after report, max (ms) | records acked / lost | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        k = KINDS[r.kind]
        phases = ", ".join(sorted({m.phase for m in r.moments}))
        names = ", ".join(sorted({m.reported for m in r.moments if m.reported}))
        verdict = "pass" if r.passed else "FAIL: " + "; ".join(r.failures[:2])
        lines.append(
            f"| {r.kind} | {len(r.moments)} | {phases} | {names} | "
            f"{_ms(r.detect_median_ms)} / {_ms(r.detect_max_ms)} | {k.goal_ms:g} | "
            f"{_ms(r.cut_max_ms)} | {r.acked} / {r.acked - r.recovered} | {verdict} |"
        )
    return "\n".join(lines)


def summary(results: Sequence[KindResult]) -> dict[str, float]:
    """Figures for the benchmark's last line."""
    lost = sum(r.acked - r.recovered for r in results)
    det = [r.detect_max_ms for r in results if r.detect_max_ms is not None]
    cut = [r.cut_max_ms for r in results if r.cut_max_ms is not None]
    return {
        "moment_kinds": len(results),
        "moments": sum(len(r.moments) for r in results),
        "moment_kinds_failed": sum(1 for r in results if not r.passed),
        "moment_records_lost": lost,
        "moment_cut_max_ms": max(cut) if cut else 0.0,
        "moment_detect_max_ms": max(det) if det else 0.0,
    }
