"""What a bench procedure is made of, and the context it runs in.

A procedure is a module in `lunasample.rigs.procedures` with:

- `TITLE`: one line for `lunasample rig list`;
- `MOVES`: True when it moves the drill or the arm (asks for confirmation on a real rig);
- `NEEDS`: the board commands it uses beyond the core set;
- `SETTINGS` / `LIMITS`: `Setting`s the rig file may override under
  `[procedure.<name>]`. A limit named `max_<figure>` / `min_<figure>` bounds the
  figure `<figure>` of the result;
- `run(ctx: RigContext) -> Result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Frame, LinkError
from lunasample.session import Session

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

    from lunasample.rigs.schema import Rig

# Telemetry rate kept during every run: TM frames carry the board clock that
# wait_board() counts in.
BASE_TM_HZ = 20
# Telemetry frames per real second an emulated board may send while a procedure
# records (the host decodes every frame in Python).
MAX_TM_FRAMES_S = 400
# Emulator speed while a timed command is sent (see RigContext.timed).
SEND_SPEED = 0.05

# Which subsystem brings which command (the HELLO `caps` name the subsystems).
COMMAND_SUBSYSTEM = {
    "DRILL": "drill",
    "SEAL": "drill",
    "SPIN": "drill",
    "DSTAT": "drill",
    "HOME": "arm",
    "MOVE": "arm",
    "SCOOP": "arm",
    "DUMP": "arm",
    "ASTAT": "arm",
    "SAMPLE": "campaign",
    "TARE": "scale",
    "CAL": "scale",
    "WEIGH": "scale",
    "SCALE": "scale",
    "JLEN": "journal",
    "JGET": "journal",
}


@dataclass(frozen=True)
class Setting:
    """A number a rig file may set for one procedure, with its allowed range."""

    default: float
    lo: float
    hi: float
    doc: str
    integer: bool = False


@dataclass
class Figure:
    """One measured figure of a run (what limits check and `rig compare` shows)."""

    value: float
    unit: str
    doc: str


@dataclass
class Result:
    """What a procedure measured: summary figures, a measurement table and plots."""

    figures: dict[str, Figure] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    plots: dict[str, Callable[[MplFigure], None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Figures this kind of rig cannot measure (name -> why): their limits are not checked.
    unmeasured: dict[str, str] = field(default_factory=dict)

    def figure(self, name: str, value: float, unit: str, doc: str) -> None:
        """Record a summary figure."""
        self.figures[name] = Figure(float(value), unit, doc)


class ProcedureFailed(Exception):
    """The procedure could not measure what it should; the message says why."""


class BoardLacks(ProcedureFailed):
    """The board's firmware does not have a command the procedure needs."""

    def __init__(self, command: str, detail: str) -> None:
        super().__init__(f"board lacks command {command}: {detail}")
        self.command = command


class RigContext:
    """Everything a procedure uses: the board link, the rig, its settings, progress."""

    def __init__(
        self,
        session: Session,
        rig: Rig,
        name: str,
        settings: dict[str, float],
        progress: Callable[[str, float, float], None],
        ask: Callable[[str], str],
    ) -> None:
        self.session = session
        self.link = session.link
        self.emulator = session.emulator
        self.rig = rig
        self.name = name
        self.settings = settings
        self._progress = progress
        self._ask = ask

    @property
    def emulated(self) -> bool:
        """True on an emulated board (weights are placed and faults injected by the host)."""
        return self.emulator is not None

    @property
    def caps(self) -> list[str]:
        """The board's capabilities (subsystems) from HELLO."""
        h = self.link.hello
        return h.caps if h is not None else []

    def setting(self, key: str) -> float:
        """A setting or limit of this procedure (rig file value, else the default)."""
        return self.settings[key]

    def progress(self, what: str, done: float, total: float) -> None:
        """Show progress (`done` of `total`) with a short description."""
        self._progress(what, done, total)

    # -- commands --------------------------------------------------------
    def require(self, *commands: str) -> None:
        """Fail with "board lacks command X" unless the board's caps bring every command."""
        for c in commands:
            sub = COMMAND_SUBSYSTEM.get(c)
            if sub is not None and sub not in self.caps:
                raise BoardLacks(
                    c,
                    f"it comes with the {sub!r} subsystem, and this board "
                    f"has only {'+'.join(self.caps)} (firmware subsystems "
                    'are listed in the board file\'s "subsystems")',
                )

    def _lacks(self, e: CommandRejected) -> None:
        if e.code == proto.E_UNKNOWN_CMD:
            raise BoardLacks(e.command, "the firmware answered unknown_cmd") from None

    def command(self, name: str, **fields: object) -> Frame:
        """Send a command, return its ACK; unknown_cmd becomes BoardLacks."""
        try:
            return self.link.command(name, **fields)
        except CommandRejected as e:
            self._lacks(e)
            raise

    def run(self, name: str, timeout_board_s: float, **fields: object) -> Frame:
        """Run a long command to its DONE (board time); unknown_cmd becomes BoardLacks."""
        try:
            return self.link.run(name, timeout_board_s, **fields)
        except CommandRejected as e:
            self._lacks(e)
            raise

    def timed(self, name: str, **fields: object) -> tuple[Frame, float]:
        """Send a command; return its ACK and the board time (s) when it was sent.

        Emulated: the emulator's virtual clock, read at 1/20 of real time
        around the send so the host's own delay hardly counts. Real: the
        board's last reported time plus the real time since.
        """
        emu = self.emulator
        if emu is not None:
            speed = emu.speed
            emu.set_speed(SEND_SPEED)
            try:
                t0 = emu.query()["t_us"] / 1e6
                return self.command(name, **fields), t0
            finally:
                emu.set_speed(speed)
        clock = self.link.clock
        t0 = clock.board_ms / 1000.0 + (time.monotonic() - clock.real)
        return self.command(name, **fields), t0

    # -- time --------------------------------------------------------------
    def board_s(self) -> float:
        """The board's clock in seconds (from its HB and TM frames)."""
        return self.link.clock.board_ms / 1000.0

    def board_now(self) -> float:
        """The board's clock in seconds, asked now (PING), not the last frame's."""
        return self.command("PING").int("t") / 1000.0

    def wait_board(self, seconds: float, what: str = "") -> None:
        """Wait `seconds` of board time (an emulator at 50x waits 1/50 of that).

        Counted from the board's clock now (a PING), not from the last frame
        read: a host behind on its frames would otherwise end the wait early.
        """
        start = self.board_now()
        last_rx = time.monotonic()
        seen = self.link.stats["rx"]
        while self.board_s() - start < seconds:
            time.sleep(0.005)
            if self.link.stats["rx"] != seen:
                seen = self.link.stats["rx"]
                last_rx = time.monotonic()
            elif time.monotonic() - last_rx > self.link.silence_timeout_s:
                raise LinkError(f"board on {self.link.port} went silent{' during ' + what}")

    # -- the operator's hands ----------------------------------------------
    def ask(self, text: str) -> None:
        """On a real rig, tell the operator to do something and wait for Enter."""
        if not self.emulated:
            self._ask(text)

    def ask_number(self, text: str) -> float:
        """On a real rig, ask the operator for a reading (e.g. a dial indicator's)."""
        while True:
            answer = self._ask(text)
            try:
                return float(answer)
            except ValueError:
                text = f"not a number: {answer!r}; {text}"

    def place_weight(self, grams: float) -> None:
        """Put `grams` of reference weights on the pan (the emulator's plant `extra_g`)."""
        if self.emulator is not None:
            self.emulator.set_plant(extra_g=float(grams))
        elif grams:
            self._ask(f"place {grams:g} g of reference weights on the pan and press Enter")
        else:
            self._ask("remove every reference weight from the pan and press Enter")

    @contextmanager
    def telemetry(self, hz: int) -> Iterator[list[tuple[float, dict[str, str]]]]:
        """Record TM frames at `hz` while inside: a list of (board s, fields)."""
        frames: list[tuple[float, dict[str, str]]] = []
        live = [0]  # 0: not yet, 1: skip one, 2: record

        def on_tm(fr: Frame) -> None:
            if live[0] == 2:
                frames.append((fr.int("t") / 1000.0, fr.fields))
            elif live[0] == 1:
                live[0] = 2  # the first frame after TMRATE was timed at the old rate

        emu = self.emulator
        speed = emu.speed if emu is not None else 0.0
        if emu is not None and (speed == 0 or speed * hz > MAX_TM_FRAMES_S):
            # Keep the host's frame decoding in step with a fast emulator:
            # replies queued behind a flood of TM frames would time out.
            emu.set_speed(MAX_TM_FRAMES_S / hz)
        self.link.subscribe("TM", on_tm)
        self.command("TMRATE", hz=hz)
        live[0] = 1
        try:
            yield frames
        finally:
            live[0] = 0
            if emu is not None:
                emu.set_speed(speed)
        self.command("TMRATE", hz=BASE_TM_HZ)
