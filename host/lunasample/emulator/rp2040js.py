"""An emulated Raspberry Pi Pico: MicroPython's rp2 port on rp2040js.

`PicoBoard` starts emulator/pico/run.js under Node.js: rp2040js (a
Cortex-M0+ at 125 MHz with the M0+'s instruction timings, PIO clocked from
the CPU's cycles) running a MicroPython UF2, its USB CDC serial on
socket://127.0.0.1:PORT for pyserial and mpremote, the board file's drill
motor, encoder and HX711 as plants on their pins, and each step axis of
the board file's `homing` moving with its STEP pulses and opening its NC
home switch where it trips. Its control lines
(`set_input`, `stats`) drive input pins and read the output pins' edges on
the board's own clock.

The UF2 and the RP2040 bootrom come from LUNASAMPLE_PICO_UF2 and
LUNASAMPLE_PICO_BOOTROM, else ../shared/rp2040/ beside the source tree (or
the working directory). rp2040js is installed with npm on first use into
$XDG_CACHE_HOME/lunasample/rp2040js (~/.cache by default).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

from lunasample import paths
from lunasample.errors import UserError

log = logging.getLogger(__name__)

RUNNER_DIR = paths._package_dir("lunasample.emulator") / "pico"
RP2040JS_VERSION = "1.4.1"
UF2_ENV = "LUNASAMPLE_PICO_UF2"
BOOTROM_ENV = "LUNASAMPLE_PICO_BOOTROM"
_FILES = {UF2_ENV: "RPI_PICO.uf2", BOOTROM_ENV: "bootrom.bin"}


def _candidates(env: str) -> list[Path]:
    override = os.environ.get(env)
    if override:
        return [Path(override).expanduser()]
    name = _FILES[env]
    repo = Path(__file__).resolve().parents[3]  # host/lunasample/emulator/ -> the tree
    return [repo.parent / "shared" / "rp2040" / name, Path.cwd().parent / "shared/rp2040" / name]


def find_image(env: str) -> Path | None:
    """The UF2 (env=UF2_ENV) or bootrom (BOOTROM_ENV) file, or None."""
    return next((p.resolve() for p in _candidates(env) if p.is_file()), None)


def missing_reason() -> str | None:
    """Why a Pico cannot be emulated here (one line), or None if it can."""
    for env in (UF2_ENV, BOOTROM_ENV):
        if find_image(env) is None:
            where = os.environ.get(env) or " or ".join(str(p) for p in _candidates(env))
            return f"{_FILES[env]} not found ({where}); set {env}"
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are needed for rp2040js (https://nodejs.org)"
    return None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lunasample" / "rp2040js"


def ensure_rp2040js() -> Path:
    """The directory holding run.js with rp2040js installed beside it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise UserError("rp2040js needs Node.js and npm on PATH (https://nodejs.org)")
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    want = (RUNNER_DIR / "package.json").read_bytes()
    pkg = d / "package.json"
    installed = d / "node_modules" / "rp2040js" / "package.json"
    if not pkg.is_file() or pkg.read_bytes() != want or not installed.is_file():
        log.info("installing rp2040js %s into %s", RP2040JS_VERSION, d)
        pkg.write_bytes(want)
        r = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=d,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()
            raise UserError(f"npm install rp2040js failed: {tail[-1] if tail else r.returncode}")
    # run.js goes beside node_modules, where Node resolves require('rp2040js').
    (d / "run.js").write_bytes((RUNNER_DIR / "run.js").read_bytes())
    return d


class PicoBoard:
    """A Pico on rp2040js, flashed with MicroPython; `url` is its serial port.

    `board` is a board file (loaded: pins as name -> GPIO); its drill and
    HX711 pins get plants, its e-stop and other switch inputs read closed,
    and its outputs (drill PWM, DIR pins, STEP pins with their DIR) are
    watched. Each axis in its `homing` starts at its `rest` position (or at
    `start[axis]`, in steps), follows its STEP pulses, and its home switch
    reads open from the trip point on; pulses past the hard stop are lost.
    """

    def __init__(
        self,
        board: dict[str, Any],
        uf2: Path | None = None,
        bootrom: Path | None = None,
        port: int = 0,
        stderr: IO[bytes] | int | None = subprocess.DEVNULL,
        start: dict[str, int] | None = None,
    ) -> None:
        self.board = board
        homing: dict[str, dict[str, Any]] = board.get("homing") or {}
        unknown = sorted(set(start or {}) - set(homing))
        if unknown:
            raise UserError(f"no home switch plant for {', '.join(unknown)} in the board file")
        self._start = start or {}
        self.uf2 = uf2 or find_image(UF2_ENV)
        self.bootrom = bootrom or find_image(BOOTROM_ENV)
        for what, p in (("UF2", self.uf2), ("bootrom", self.bootrom)):
            if p is None:
                raise UserError(f"no emulated Pico: {missing_reason()}")
            if not p.is_file():
                raise UserError(f"Pico {what} not found: {p}")
        self._port = port
        self._stderr = stderr
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self.url = ""

    def _args(self) -> list[str]:
        pins: dict[str, int] = self.board["pins"]
        wiring: dict[str, dict[str, Any]] = self.board.get("wiring", {})
        a: list[str] = []
        if all(k in pins for k in ("drill_pwm", "drill_dir", "drill_enc_a", "drill_enc_b")):
            a += [
                "--drill",
                f"{pins['drill_pwm']},{pins['drill_dir']},"
                f"{pins['drill_enc_a']},{pins['drill_enc_b']}",
            ]
        if "hx711_sck" in pins and "hx711_dout" in pins:
            a += ["--hx711", f"{pins['hx711_sck']},{pins['hx711_dout']}"]
        # Home switches with a plant: NC contacts that open on the axis's
        # trip point (step and dir pins, switch, start, trip, hard stop).
        homing: dict[str, dict[str, Any]] = self.board.get("homing") or {}
        homes = [
            f"{pins[ax + '_step']}:{pins[ax + '_dir']}:{pins[h['switch']]}:"
            f"{self._start.get(ax, h['rest'])}:{h['trip']}:{h['stop']}"
            for ax, h in homing.items()
        ]
        if homes:
            a += ["--homes", ",".join(homes)]
        # The other NC contacts to GND, closed: they read 0 (the e-stop
        # released).
        planted = {h["switch"] for h in homing.values()}
        closed = [
            pins[n] for n, w in wiring.items() if w.get("contact") == "NC" and n not in planted
        ]
        if closed:
            a += ["--inputs", ",".join(f"{g}=0" for g in closed)]
        steppers = [
            f"{pins[n]}:{pins[n[:-5] + '_dir']}"
            for n in pins
            if n.endswith("_step") and n[:-5] + "_dir" in pins
        ]
        if steppers:
            a += ["--steppers", ",".join(steppers)]
        outs = [
            pins[n] for n, w in wiring.items() if w.get("role") in ("pwm", "output") and n in pins
        ]
        if outs:
            a += ["--trace", ",".join(str(g) for g in outs)]
        return a

    def start(self) -> PicoBoard:
        run_dir = ensure_rp2040js()
        cmd = ["node", "run.js", "--uf2", str(self.uf2), "--bootrom", str(self.bootrom)]
        cmd += ["--port", str(self._port), *self._args()]
        self._proc = subprocess.Popen(
            cmd,
            cwd=run_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        threading.Thread(target=self._read, daemon=True).start()
        first = self._line(30)
        if not first.startswith("listening on "):
            self.stop()
            raise UserError(f"the emulated Pico did not start: {first or 'no output'}")
        self.url = f"socket://127.0.0.1:{first.split()[-1]}"
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            self._lines.put(raw.decode(errors="replace").strip())
        self._lines.put("")  # the process ended

    def _line(self, timeout: float) -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return ""

    def _ctl(self, line: str) -> str:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or self._proc.stdin is None:
                raise RuntimeError("the emulated Pico is not running")
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()
            reply = self._line(30)
        if not reply:
            raise RuntimeError(f"the emulated Pico did not answer {line!r}")
        return reply

    def set_input(self, gpio: int, value: int) -> int:
        """Drive an input pin; the board's clock (ns) when it changed."""
        return int(self._ctl(f"set {gpio} {value}").split()[1])

    def stats(self) -> dict[str, Any]:
        """The watched pins' edges: {"ns": now, "pins": {gpio: {...}}, "homes":
        {axis: {...}}} on the board's clock (pins: rise, fall, min_high_ns,
        min_low_ns, last_ns, value; STEP pins also min_dir_setup_ns and
        min_dir_hold_ns; homes: pos in steps, open (the home switch's level),
        lost (pulses against the hard stop))."""
        s: dict[str, Any] = json.loads(self._ctl("stats"))
        s["pins"] = {int(g): v for g, v in s["pins"].items()}
        pins: dict[str, int] = self.board["pins"]
        by_step = {pins[ax + "_step"]: ax for ax in self.board.get("homing") or {}}
        s["homes"] = {by_step[int(g)]: v for g, v in s.get("homes", {}).items()}
        return s

    def clear(self) -> int:
        """Zero the edge counters; the board's clock (ns)."""
        return int(self._ctl("clear").split()[1])

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        if p.stdin is not None:
            p.stdin.close()  # run.js exits when its stdin ends
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def __enter__(self) -> PicoBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def outputs_off_after(board: dict[str, Any], stats: dict[str, Any], t_edge_ns: int) -> int | None:
    """ns from an input edge at t_edge_ns until every output the board
    drives (PWM, STEP, and the watched outputs but the HX711's and status
    LED's) was low for good, from `stats` taken a while after the edge;
    None while one of them is still high."""
    pins: dict[str, int] = board["pins"]
    wiring: dict[str, dict[str, Any]] = board.get("wiring", {})
    movers = [
        pins[n]
        for n, w in wiring.items()
        if n in pins and (w.get("role") == "pwm" or n.endswith("_step") or n == "drill_hammer")
    ]
    seen = stats["pins"]
    if any(seen[g]["value"] for g in movers if g in seen):
        return None
    last = max((seen[g]["last_ns"] or 0) for g in movers if g in seen)
    return max(0, last - t_edge_ns)
