"""An emulated board: the real firmware in a micropython process, behind a serial port.

The micropython unix-port process runs `sim/emu_boot.py`, which plays the
board's ROM (virtual flash at "/", main.py, REPL) with simulated `machine`
and `time` modules and the plant models. This module is the board's
"cable": it exposes the console as a PTY and as a TCP socket
(`socket://127.0.0.1:PORT`, which pyserial and mpremote open), injects line
faults, and brings the board back up after a simulated power cut.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tty
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lunasample import paths
from lunasample.emulator import vfs
from lunasample.emulator.lockstep import QUANTUM_US, CommandGate
from lunasample.errors import UserError
from lunasample.hardware.loader import parts_for_emulator

PLANTS = ("plant_drill", "plant_arm", "plant_loadcell")
LINE_FAULTS = ("serial_noise", "serial_drop")
# Control-channel operations that change the world (lockstep delivers them at
# a quantum's end); queries only read it.
_WORLD_OPS = ("fault", "plant", "power_cut", "speed")
# The simulated world (machine, time, plants, REPL) lives in the same
# micropython heap as the firmware; it gets its own allowance on top of the
# board's heap_kb so the firmware sees the budget the board file gives it.
# 48 KB left the randomised arm test short of a free block now and then (a
# MemoryError in the firmware's frame decoder): the plants' float
# arithmetic churns the shared heap.
SIM_HEAP_KB = 64
# The boards are 32-bit; the unix port here is 64-bit, where every object
# and pointer takes twice the room. The board's budget is scaled to match.
WORD_RATIO = 2


def _remove_dirs(dirs: list[Path]) -> None:
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@dataclass
class LineNoise:
    """Faults on the serial line, applied to both directions.

    corrupt: probability that a byte has one bit flipped;
    drop: probability that a whole line (frame) is lost.
    """

    corrupt: float = 0.0
    drop: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    bytes_corrupted: int = 0
    lines_dropped: int = 0

    @property
    def active(self) -> bool:
        return self.corrupt > 0 or self.drop > 0

    def apply(self, data: bytes, partial: bytearray) -> bytes:
        """Pass `data` through the noisy line; `partial` holds an unfinished line."""
        out = bytearray()
        for b in data:
            if self.corrupt and self.rng.random() < self.corrupt:
                b ^= 1 << self.rng.randrange(7)
                self.bytes_corrupted += 1
            partial.append(b)
            if b == 0x0A:
                if self.drop and self.rng.random() < self.drop:
                    self.lines_dropped += 1
                else:
                    out += partial
                partial.clear()
        if not self.drop and partial:
            out += partial
            partial.clear()
        return bytes(out)


@dataclass
class LineRate:
    """The serial line's rate: each byte takes 10 bit times (8N1) at `baud`,
    each direction on its own wire (full duplex); baud 0 = unlimited.

    Data is held until its last bit would have left the UART, so a
    115200-baud or USB full-speed link can be measured on the emulator. The
    line runs in real time: at a speed factor above 1 the board sends more
    per real second (heartbeats, telemetry) than it would on hardware.
    carried counts the bytes put on the line: "in" to the board, "out" from it.
    """

    baud: int = 0
    carried: dict[str, int] = field(default_factory=lambda: {"in": 0, "out": 0})
    _free_at: dict[str, float] = field(default_factory=lambda: {"in": 0.0, "out": 0.0})
    _held: list[tuple[float, str, bytes]] = field(default_factory=list)

    def hold(self, way: str, data: bytes) -> bool:
        """Count `data`; at a finite rate, hold it until it is through (returns True)."""
        self.carried[way] += len(data)
        if not self.baud or not data:
            return False
        start = max(time.monotonic(), self._free_at[way])
        self._free_at[way] = end = start + len(data) * 10 / self.baud
        self._held.append((end, way, data))
        return True

    def wait(self, longest: float) -> float:
        """How long the bridge may block before held data falls due."""
        if not self._held:
            return longest
        left = min(e[0] for e in self._held) - time.monotonic()
        # epoll rounds a timeout up to whole milliseconds: poll without
        # blocking for the last one, or every byte would arrive up to 1 ms late.
        return 0.0 if left < 0.001 else min(longest, left - 0.001)

    def due(self) -> list[tuple[str, bytes]]:
        """Held data whose last bit has arrived, oldest first."""
        now = time.monotonic()
        out = [(w, d) for t, w, d in self._held if t <= now]
        if out:
            self._held = [e for e in self._held if e[0] > now]
        return out


class EmulatedBoard:
    """One emulated board. Use as a context manager, or start()/stop().

    After start(), `pty_path` and `url` name the serial port to open.
    """

    def __init__(
        self,
        board: str = "emulator",
        speed: float = 1.0,
        fs_dir: Path | None = None,
        flash: bool = True,
        seed: int = 0,
        plant: dict[str, Any] | None = None,
        faults: dict[str, float] | None = None,
        tcp_port: int = 0,
        cpu_scale: int = 0,
        baud: int = 0,
        lockstep: bool = False,
    ) -> None:
        self.board = paths.load_board(board)
        self.speed = speed
        # Lockstep (emulator/lockstep.py): the board's clock runs while a
        # command of the host's is in progress, in quanta, and is held
        # between commands; unpaced, at full line rate, cpu_scale 0.
        self.lockstep = lockstep
        self.gate = CommandGate()
        self.held_us: int | None = None  # lockstep: the board time it is held at
        self._in_wait = bytearray()  # lockstep: the host's bytes for the next quantum
        self._ctl_wait: list[dict[str, Any]] = []  # lockstep: and its changes to the world
        self.seed = seed
        self.plant = dict(plant or {})
        self.cpu_scale = cpu_scale
        self.fs_dir = Path(fs_dir) if fs_dir else vfs.new_flash_dir(board)
        self._work = Path(tempfile.mkdtemp(prefix="lunasample-emu-"))
        # The scratch directory and a flash of our own go with the board: on
        # stop(), or at interpreter exit (an error, Ctrl-C) if stop never ran.
        owned = [self._work] + ([] if fs_dir else [self.fs_dir])
        self._cleanup = weakref.finalize(self, _remove_dirs, owned)
        self._flash = flash
        self._faults = {k: v for k, v in (faults or {}).items() if k not in LINE_FAULTS}
        self.noise = LineNoise(
            corrupt=(faults or {}).get("serial_noise", 0.0),
            drop=(faults or {}).get("serial_drop", 0.0),
            rng=random.Random(seed),
        )
        self._tcp_port = tcp_port
        self.line = LineRate(baud)
        self._binary = paths.micropython_binary()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {}
        self._replies: dict[int, dict[str, Any]] = {}
        self._reply_cv = threading.Condition()
        self._query_id = 0
        self._client: socket.socket | None = None
        self._partial_in = bytearray()
        self._partial_out = bytearray()
        self._ctl_buf = b""
        self._unplug = threading.Event()  # served by the bridge thread, which owns the sockets
        self.restarts = 0
        self.events: list[dict[str, Any]] = []  # power cuts and restarts, in order
        self.pty_path = ""
        self.url = ""

    # -- lifecycle -----------------------------------------------------
    def start(self) -> EmulatedBoard:
        self.fs_dir.mkdir(parents=True, exist_ok=True)
        if self._flash:
            vfs.flash_image(self.fs_dir, self.board)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listen.bind(("127.0.0.1", self._tcp_port))
        except OSError as e:
            raise UserError(f"cannot listen on 127.0.0.1:{self._tcp_port}: {e.strerror}") from None
        self._listen.listen(1)
        self._listen.setblocking(False)
        self.url = f"socket://127.0.0.1:{self._listen.getsockname()[1]}"
        self._spawn(reset_cause=1, state={})
        self._thread = threading.Thread(target=self._run, name="emulated-board", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Power the board off and release the port; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._kill()
        for fd in ("_master", "_slave"):
            with contextlib.suppress(OSError, AttributeError):
                os.close(getattr(self, fd))
        with contextlib.suppress(OSError, AttributeError):
            self._listen.close()
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
        self._cleanup()

    def __enter__(self) -> EmulatedBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control -------------------------------------------------------
    def inject(self, name: str, value: float = 1) -> None:
        """Switch a fault on (value != 0) or off (value 0). See docs/emulator.md."""
        if name == "serial_noise":
            self.noise.corrupt = float(value)
        elif name == "serial_drop":
            self.noise.drop = float(value)
        else:
            self._faults[name] = value
            if not value:
                self._faults.pop(name, None)
            self._ctl({"op": "fault", "name": name, "value": value})

    def set_plant(self, **values: Any) -> None:
        """Change plant parameters (e.g. rock_depth_mm) on the running board."""
        self.plant.update(values)
        self._ctl({"op": "plant", "values": values})

    def unplug(self) -> None:
        """Pull the cable: drop the current socket client (it must reconnect)."""
        self._unplug.set()

    def set_speed(self, speed: float) -> None:
        """Change the speed factor (virtual seconds per real second; 0 = no pacing)."""
        self.speed = speed
        self._ctl({"op": "speed", "value": speed})

    def power_cut(self) -> None:
        """Cut power now; the board boots again from its flash."""
        self._ctl({"op": "power_cut"})

    def query(self, timeout: float = 30.0) -> dict[str, Any]:
        """The plants' true state and the board's virtual time, from the sim."""
        with self._reply_cv:
            self._query_id += 1
            qid = self._query_id
        self._ctl({"op": "query", "id": qid})
        deadline = time.monotonic() + timeout
        with self._reply_cv:
            while qid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("emulated board did not answer a state query")
                self._reply_cv.wait(left)
            return self._replies.pop(qid)

    def wait_held(self, timeout: float = 10.0) -> int:
        """Lockstep: the board time (us) the board is held at, once it is."""
        deadline = time.monotonic() + timeout
        while True:
            t = self.held_us
            if t is not None:
                return t
            if time.monotonic() > deadline:
                raise TimeoutError("the emulated board was not held (a command in progress?)")
            time.sleep(0.001)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- process -------------------------------------------------------
    def _spawn(self, reset_cause: int, state: dict[str, Any]) -> None:
        cfg = {
            "board": self.board["name"],
            "fs": str(self.fs_dir),
            "speed": self.speed,
            "lockstep": self.lockstep,
            "cpu_scale": self.cpu_scale,
            "cpu_hz": self.board.get("cpu_hz", 125000000),
            "seed": self.seed + self.restarts,
            "reset_cause": reset_cause,
            "faults": self._faults,
            "plants": [p for p in PLANTS if (paths.SIM_DIR / f"{p}.py").is_file()],
            "plant": self.plant,
            "pins": self.board["pins"],
            "state": state,
            # The chip's and drivers' rules, applied by sim/pads.py.
            "mcu": self.board.get("mcu", "unix"),
            "wiring": self.board.get("wiring", {}),
            "drivers": self.board.get("drivers", {}),
            "hx711": self.board.get("hx711", {}),
            "parts": parts_for_emulator(self.board),
        }
        cfg_path = self._work / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        ctl_in_r, self._ctl_in_w = os.pipe()
        self._ctl_out_r, ctl_out_w = os.pipe()
        env = dict(os.environ)
        env.update(
            MICROPYPATH=str(paths.SIM_DIR),
            LUNASAMPLE_EMU_CONFIG=str(cfg_path),
            LUNASAMPLE_CTL_IN=f"/dev/fd/{ctl_in_r}",
            LUNASAMPLE_CTL_OUT=f"/dev/fd/{ctl_out_w}",
        )
        heap = self.board.get("heap_kb", 64) * WORD_RATIO + SIM_HEAP_KB
        self._stderr = open(self._work / "stderr.log", "ab")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [self._binary, "-X", f"heapsize={heap}K", str(paths.SIM_DIR / "emu_boot.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            pass_fds=(ctl_in_r, ctl_out_w),
            start_new_session=True,
        )
        os.close(ctl_in_r)
        os.close(ctl_out_w)
        os.set_blocking(self._ctl_out_r, False)
        assert self._proc.stdout is not None
        os.set_blocking(self._proc.stdout.fileno(), False)

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if f is not None:
                    f.close()
        for fd in (self._ctl_in_w, self._ctl_out_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stderr.close()
        self._proc = None

    def stderr_tail(self, n: int = 2000) -> str:
        """The end of the micropython process's stderr (for diagnostics)."""
        p = self._work / "stderr.log"
        return p.read_bytes()[-n:].decode(errors="replace") if p.exists() else ""

    def _ctl(self, msg: dict[str, Any]) -> None:
        with self._lock:
            if self.lockstep and self.held_us is None and msg.get("op") in _WORLD_OPS:
                # Lockstep: a change to the world lands at the quantum's end,
                # where the host's bytes do (see _deliver).
                self._ctl_wait.append(msg)
                return
            self._ctl_write(msg)

    def _ctl_write(self, msg: dict[str, Any]) -> None:
        if not self.alive:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            os.write(self._ctl_in_w, (json.dumps(msg) + "\n").encode())

    def _restart(self, why: str, cause: int, state: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for fd in (self._proc.stdout.fileno(), self._ctl_out_r):
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(fd)
        # A torn write is a one-shot event, not a property of the board.
        self._faults.pop("power_cut_on_write", None)
        with self._lock:
            self._kill()
            self.restarts += 1
            self.events.append({"event": "power_cut", "why": why, "t_us": state.get("t_us")})
            self._partial_in.clear()
            self._partial_out.clear()
            self.gate.reset()
            self.held_us = None
            self._in_wait.clear()
            self._ctl_wait.clear()
            self._spawn(reset_cause=cause, state=state.get("plants", {}))
        self._register_proc()

    # -- bridge thread -------------------------------------------------
    def _register_proc(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        self._sel.register(self._proc.stdout.fileno(), selectors.EVENT_READ, "board")
        self._sel.register(self._ctl_out_r, selectors.EVENT_READ, "ctl")

    def _run(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._master, selectors.EVENT_READ, "pty")
        self._sel.register(self._listen, selectors.EVENT_READ, "listen")
        self._register_proc()
        while not self._stop.is_set():
            if self._unplug.is_set():
                self._unplug.clear()
                self._drop_client()
            for key, _ in self._sel.select(self.line.wait(0.05)):
                try:
                    self._on_ready(key)
                except OSError:
                    if self._stop.is_set():
                        return
            for way, data in self.line.due():
                (self._to_board if way == "in" else self._from_board)(data, True)

    def _on_ready(self, key: selectors.SelectorKey) -> None:
        what = key.data
        if what == "pty":
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                return
            self._to_board(data)
        elif what == "listen":
            conn, _ = self._listen.accept()
            self._drop_client()  # a new connection takes the port over
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = conn
            self._sel.register(conn, selectors.EVENT_READ, "client")
        elif what == "client":
            if key.fileobj is not self._client:
                return  # a connection closed earlier in this same select round
            assert self._client is not None
            data = self._client.recv(4096)
            if not data:
                self._drop_client()
            else:
                self._to_board(data)
        elif what == "board":
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                return
            if data:
                self._from_board(data)
            elif not self._stop.is_set():
                self._restart("exited", 2, self._state)
        elif what == "ctl":
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                return
            self._on_ctl(data)

    def _to_board(self, data: bytes, through: bool = False) -> None:
        if not through and self.line.hold("in", data):
            return
        if self.noise.active:
            data = self.noise.apply(data, self._partial_in)
        if self.lockstep:
            # The host's bytes reach the board at the quantum's end: at a
            # board time that does not depend on when the host sent them.
            self._in_wait += data
            if self.held_us is not None:
                self._deliver()
            return
        self._write_board(data)

    def _write_board(self, data: bytes) -> None:
        proc = self._proc
        if data and proc is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                proc.stdin.write(data)
                proc.stdin.flush()

    def _from_board(self, data: bytes, through: bool = False) -> None:
        if not through and self.line.hold("out", data):
            return
        if self.noise.active:
            data = self.noise.apply(data, self._partial_out)
        if not data:
            return
        if self.lockstep:
            self.gate.board_sent(data)
        # Nobody reading the PTY: its buffer fills and, as with a USB CDC
        # port nobody has opened, further output is dropped.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._master, data)
        if self._client is not None:
            try:
                self._client.sendall(data)
            except OSError:
                self._drop_client()

    def _drop_client(self) -> None:
        """Close the socket client, if any (bridge thread only)."""
        if self._client is not None:
            self._sel.unregister(self._client)
            self._client.close()
            self._client = None

    def _on_ctl(self, data: bytes) -> None:
        self._ctl_buf += data
        *lines, self._ctl_buf = self._ctl_buf.split(b"\n")
        for line in lines:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            op = msg.get("op")
            if op == "state":
                self._state = msg
            elif op == "reply":
                with self._reply_cv:
                    self._replies[msg["id"]] = msg
                    self._reply_cv.notify_all()
            elif op == "dying":
                self._state = msg
                self._restart(msg.get("why", "power_cut"), int(msg.get("cause", 1)), msg)
                return
            elif op == "held":
                self._on_held(int(msg["t_us"]))
            elif op == "error":
                self.events.append({"event": "sim_error", "text": msg.get("text")})

    def _on_held(self, t_us: int) -> None:
        """Lockstep: the board spent its quantum. Everything it wrote before
        saying so is in its pipe: pass that on, then run on while a command
        is in progress, or stay held."""
        proc = self._proc
        if proc is not None and proc.stdout is not None:
            while True:
                try:
                    data = os.read(proc.stdout.fileno(), 65536)
                except BlockingIOError:
                    break
                if not data:
                    break
                self._from_board(data)
        with self._lock:
            self.held_us = t_us
        self._deliver()

    def _deliver(self) -> None:
        """Lockstep, held: the host's bytes to the board; run on if a command is in progress."""
        data, self._in_wait = bytes(self._in_wait), bytearray()
        self._write_board(data)
        self.gate.host_sent(data)
        with self._lock:
            for msg in self._ctl_wait:
                self._ctl_write(msg)
            self._ctl_wait.clear()
            if self.gate.busy:
                self.held_us = None
                self._ctl_write({"op": "run", "us": QUANTUM_US})
