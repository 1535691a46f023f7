"""Fault-injection scenarios: each starts a sampling campaign on a fresh emulated
board, breaks something at a chosen moment, and records what the board did.

The verdict of every scenario checks the same three things:
1. motion stopped within the allowed virtual time after the fault (the
   simulated world timestamps the fault and the last actuator pulse),
2. the board reports the fault (or the reason it went SAFE),
3. every sample record the host saw acknowledged is in the journal after
   the scenario (and after a reboot, where there was one) exactly once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.journal import download
from lunasample.link.client import Frame, Link
from lunasample.link.retry import RetryPolicy
from lunasample.preflight import ensure_calibrated
from lunasample.session import Session, emulated_hb_timeout_ms

SAFE_LIMIT_MS = 100.0  # fault to standstill, virtual time
TARGET_G = 700  # a short campaign: a core and a handful of scoops
_WAIT_REAL_S = 120.0  # real-time cap on any single wait
# Link-loss timeout (board ms) for unpaced boards: long enough that a busy
# host answering heartbeats late is not mistaken for a dead one.
HBTO_MS = emulated_hb_timeout_ms(0)


@dataclass
class Outcome:
    """What one scenario measured."""

    scenario: str
    injected: str
    detect_ms: float | None = None  # fault injected to fault reported, virtual ms
    safe_ms: float | None = None  # fault reported to last actuator pulse, virtual ms
    reported: str = ""  # fault name / state the board reported
    acked: int = 0  # sample records the host saw acknowledged
    recovered: int = 0  # of those, found exactly once in the journal afterwards
    passed: bool = False
    why: str = ""
    notes: list[str] = field(default_factory=list)


class Run:
    """One scenario's board, link and bookkeeping."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.board = EmulatedBoard(speed=0, fs_dir=workdir / "flash", seed=seed)
        self.link: Link | None = None
        self.acked: dict[int, int] = {}  # record number -> mg, from EV kind=sample
        self.events: list[dict[str, str]] = []
        self.done: list[Frame] = []
        self.sample_seq = -1
        self._lock = threading.Lock()

    def start(self) -> None:
        self.board.start()
        self.connect()
        assert self.link is not None
        ensure_calibrated(Session(self.link, self.board))

    def connect(self) -> Link:
        link = Link(self.board.url, retry=RetryPolicy(ack_timeout_s=0.2, retries=15))
        link.subscribe("EV", self._on_event)
        link.subscribe("DONE", self.done.append)
        link.open()
        link.command("HBTO", ms=HBTO_MS)
        self.link = link
        return link

    def _on_event(self, fr: Frame) -> None:
        with self._lock:
            self.events.append(fr.fields)
            if fr.fields.get("kind") == "sample":
                self.acked[fr.int("n")] = fr.int("mg")

    def begin_sampling(self) -> None:
        assert self.link is not None
        self.link.command("ARM")
        self.link.run("HOME", timeout_board_s=300)
        ack = self.link.command("SAMPLE", target=TARGET_G, budget=3600)
        self.sample_seq = ack.int("re")

    def sample_done(self) -> Frame | None:
        """The SAMPLE command's DONE, once it came."""
        return next((d for d in self.done if d.int("re", -1) == self.sample_seq), None)

    def wait_for(self, what: str, pred: Callable[[], bool]) -> None:
        deadline = time.monotonic() + _WAIT_REAL_S
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.01)

    def scoops_acked(self) -> int:
        with self._lock:
            return sum(1 for e in self.events if e.get("kind") == "sample")

    def board_s(self) -> float:
        return self.link.clock.board_ms / 1000.0 if self.link else 0.0

    def faulted(self) -> str:
        """The fault name the board reported in an EV, or ''."""
        ev = self._fault_event()
        return ev.get("name", "?") if ev else ""

    def _fault_event(self) -> dict[str, str] | None:
        with self._lock:
            for e in self.events:
                if e.get("kind") == "fault":
                    return e
        return None

    def latencies(self, fault: str) -> tuple[float | None, float | None]:
        """(injection to report, report to last actuator pulse), virtual ms.

        The board's clock is the simulated world's clock, so the fault event's
        `t` (board ms) and the world's timestamps compare directly.
        """
        q = self.board.query()
        on = q["fault_on_us"].get(fault)
        if fault == "arm_stall" and on is not None:
            # From its first effect: a joint at rest between moves cannot stall.
            on = max(on, q["plants"]["arm"]["stall_since_us"])
        ev = self._fault_event()
        if on is None or ev is None or "t" not in ev:
            return None, None
        t_report_us = int(ev["t"]) * 1000
        return (
            max(0.0, (t_report_us - on) / 1000.0),
            max(0.0, (q["last_actuation_us"] - t_report_us) / 1000.0),
        )

    def settle(self, board_s: float = 2.0) -> None:
        """Let `board_s` board seconds pass (so motion would show if it went on)."""
        t0 = self.board.query()["t_us"]
        self.wait_for("board time", lambda: self.board.query()["t_us"] - t0 > board_s * 1e6)

    def check_journal(self, out: Outcome) -> None:
        """Fill acked/recovered from the host's view and the board's journal."""
        assert self.link is not None
        records = download(self.link)
        numbers = [r.n for r in records]
        by_n = {r.n: r.mass_mg for r in records}
        with self._lock:
            acked = dict(self.acked)
        out.acked = len(acked)
        out.recovered = sum(
            1 for n, mg in acked.items() if numbers.count(n) == 1 and by_n.get(n) == mg
        )
        if len(set(numbers)) != len(numbers):
            out.notes.append("duplicate record numbers in the journal")

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.board.stop()


def _plant_fault(
    name: str, during: str, expect: str, detect_limit_ms: float
) -> Callable[[Run, Outcome], None]:
    """A hardware fault injected while drilling or scooping; expect FAULT `expect`,
    reported within `detect_limit_ms` (the detector's own window: a stall is only
    a stall after the motor has failed to turn for a while) and motion stopped
    within SAFE_LIMIT_MS of the report."""

    def scenario(run: Run, out: Outcome) -> None:
        run.begin_sampling()
        if during == "drill":
            t0 = run.board_s()
            run.wait_for("drilling", lambda: run.board_s() - t0 > 30)
        else:
            run.wait_for("a scoop", lambda: run.scoops_acked() >= 2)
        run.board.inject(name, 1)
        run.wait_for(f"fault {expect}", lambda: bool(run.faulted()))
        run.settle()
        out.detect_ms, out.safe_ms = run.latencies(name)
        out.reported = run.faulted()
        run.board.inject(name, 0)
        if out.reported != expect:
            out.why = f"reported {out.reported!r}, expected {expect!r}"
        elif out.detect_ms is None or out.detect_ms > detect_limit_ms:
            out.why = f"detected after {out.detect_ms} ms (limit {detect_limit_ms:g})"
        elif out.safe_ms is None or out.safe_ms > SAFE_LIMIT_MS:
            out.why = f"motion went on {out.safe_ms} ms after the fault was reported"
        else:
            out.passed = True

    return scenario


def _drill_jam(run: Run, out: Outcome) -> None:
    """A jam the drill backs off from: the campaign must carry on."""
    run.begin_sampling()
    t0 = run.board_s()
    run.wait_for("drilling", lambda: run.board_s() - t0 > 30)
    run.board.inject("drill_jam", 1)
    run.wait_for("campaign end", lambda: run.sample_done() is not None)
    run.board.inject("drill_jam", 0)
    done = run.sample_done()
    assert done is not None
    out.reported = "recovered" if done.int("ok") == 1 else done.fields.get("msg", "?")
    out.safe_ms = 0.0
    out.passed = done.int("ok") == 1 and not run.faulted()
    if not out.passed:
        out.why = f"campaign ended with {done.fields}"


def _estop(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 2)
    assert run.link is not None
    t_ms = run.link.command("ESTOP").int("t")  # board time the ESTOP was executed
    run.wait_for("estop", lambda: bool(run.faulted()))
    run.settle()
    q = run.board.query()
    out.detect_ms = 0.0
    out.safe_ms = max(0.0, (q["last_actuation_us"] - t_ms * 1000) / 1000.0)
    out.reported = run.faulted()
    out.passed = out.reported == "estop" and out.safe_ms <= SAFE_LIMIT_MS
    if not out.passed:
        out.why = f"reported {out.reported!r}, motion {out.safe_ms} ms after ESTOP"


def _reboot_and_reconnect(run: Run) -> None:
    restarts = run.board.restarts
    run.wait_for("reboot", lambda: run.board.restarts > restarts)
    assert run.link is not None
    run.link.close()
    run.connect()


def _brownout_mid_scoop(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 2)
    time.sleep(0.05)
    run.board.power_cut()
    _reboot_and_reconnect(run)
    assert run.link is not None
    st = run.link.command("STATUS").fields
    out.safe_ms = 0.0  # power gone: nothing is driven
    out.reported = f"{st['st']} after reboot"
    out.passed = (
        st["st"] == "SAFE" and run.link.hello is not None and run.link.hello.reset_cause == 1
    )
    if not out.passed:
        out.why = f"after reboot: {st}"


def _brownout_mid_journal_write(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 2)
    run.board.inject("power_cut_on_write", 1)  # the next flash write is torn
    _reboot_and_reconnect(run)
    assert run.link is not None
    jl = run.link.command("JLEN").fields
    out.safe_ms = 0.0
    out.reported = f"journal {jl.get('n')} records, {jl.get('dropped', 0)} torn dropped"
    out.passed = run.link.command("STATUS").fields["st"] == "SAFE"


def _link_drop(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 1)
    assert run.link is not None
    hbto_s = HBTO_MS / 1000.0
    t_us = run.board.query()["t_us"]
    run.board.inject("serial_drop", 1.0)  # the cable is cut
    run.wait_for(
        "link-loss timeout", lambda: run.board.query()["t_us"] - t_us > (hbto_s + 2) * 1e6
    )
    run.board.inject("serial_drop", 0)
    st = run.link.command("STATUS").fields
    q = run.board.query()
    stop_ms = (q["last_actuation_us"] - t_us) / 1000.0
    out.safe_ms = max(0.0, stop_ms - hbto_s * 1000.0)  # beyond the heartbeat timeout
    out.reported = f"{st['st']} ({st['why']})"
    out.passed = st["st"] == "SAFE" and st["why"] == "link_lost" and out.safe_ms <= SAFE_LIMIT_MS
    if not out.passed:
        out.why = f"status {st}, motion stopped {stop_ms:.0f} ms after the cut"


def _host_crash(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 2)
    assert run.link is not None
    run.link.close()  # the host dies: no DISARM, no more heartbeats
    t_us = run.board.query()["t_us"]
    run.wait_for(
        "link-loss timeout", lambda: run.board.query()["t_us"] - t_us > HBTO_MS * 1000 + 2e6
    )
    run.connect()  # a new host process: a new session id
    st = run.link.command("STATUS").fields
    out.safe_ms = 0.0
    out.reported = f"{st['st']} ({st['why']})"
    out.passed = st["st"] == "SAFE" and st["why"] == "link_lost"
    if not out.passed:
        out.why = f"after host restart: {st}"


def _serial_garbage(run: Run, out: Outcome) -> None:
    run.begin_sampling()
    run.wait_for("a scoop", lambda: run.scoops_acked() >= 1)
    assert run.link is not None
    rng = random.Random(5)
    ctrl = 0
    for _ in range(50):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        # 0x03 and 0x04 stay in, alone and at a line's start after "\n"; only
        # "\r" then 0x03 is taken out: that pair is the operator's interrupt
        # (mpremote's), honoured on purpose (docs/firmware.md, Ctrl-C).
        while b"\r\x03" in junk:
            junk = junk.replace(b"\r\x03", b"\n\x03")
        ctrl += junk.count(b"\x03") + junk.count(b"\x04")
        run.link._write(junk + b"\n\x03\x04\n")
        time.sleep(0.01)
    out.notes.append(f"{ctrl + 100} bytes 0x03/0x04 sent")
    run.wait_for("campaign end", lambda: run.sample_done() is not None)
    done = run.sample_done()
    assert done is not None
    st = run.link.command("STATUS").fields
    out.safe_ms = 0.0
    out.reported = f"rxerr={st['rxerr']}, campaign ok={done.fields.get('ok')}"
    out.passed = done.int("ok") == 1 and int(st["rxerr"]) > 0
    if not out.passed:
        out.why = f"campaign {done.fields}, status {st}"


SCENARIOS: dict[str, tuple[str, Callable[[Run, Outcome], None]]] = {
    "drill_jam": ("drill_jam while drilling (backs off, carries on)", _drill_jam),
    "motor_stall": (
        "motor_stall while drilling",
        _plant_fault("motor_stall", "drill", "drill_stall", 2000),
    ),
    "encoder_loss": (
        "encoder_loss while drilling",
        _plant_fault("encoder_loss", "drill", "encoder_lost", 2000),
    ),
    "hx711_timeout": (
        "hx711_timeout while scooping",
        _plant_fault("hx711_timeout", "scoop", "scale_timeout", 1500),
    ),
    "hx711_stuck": (
        "hx711_stuck while scooping",
        _plant_fault("hx711_stuck", "scoop", "scale_stuck", 6000),
    ),
    "arm_stall": (
        "arm_stall while scooping",
        _plant_fault("arm_stall", "scoop", "arm_stall", 100),
    ),
    "limit_switch_stuck": (
        "limit_switch_stuck while scooping",
        _plant_fault("limit_switch_stuck", "scoop", "limit_switch", 1000),
    ),
    "estop": ("ESTOP while scooping", _estop),
    "brownout_mid_scoop": ("power cut while scooping", _brownout_mid_scoop),
    "brownout_mid_journal_write": (
        "power cut tearing a journal write",
        _brownout_mid_journal_write,
    ),
    "link_drop": ("serial cable cut while scooping", _link_drop),
    "host_crash": ("host dies and restarts mid-campaign", _host_crash),
    "serial_garbage": ("garbage on the serial line while scooping", _serial_garbage),
}


def run_scenario(name: str, workdir: Path, seed: int) -> Outcome:
    """Run one scenario on its own fresh emulated board."""
    if name not in SCENARIOS:
        raise UserError(f"unknown scenario {name!r}: choose from {', '.join(SCENARIOS)}")
    desc, fn = SCENARIOS[name]
    out = Outcome(scenario=name, injected=desc)
    run = Run(workdir / name, seed)
    try:
        run.start()
        fn(run, out)
        run.check_journal(out)
        if out.passed and out.recovered != out.acked:
            out.passed = False
            out.why = f"{out.acked - out.recovered} acknowledged records not in the journal"
    except (TimeoutError, UserError) as e:
        out.passed = False
        out.why = str(e)
        if run.board.alive:
            tail = run.board.stderr_tail(300).strip()
            if tail:
                out.notes.append(tail.splitlines()[-1])
    finally:
        run.close()
    return out
