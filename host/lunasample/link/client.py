"""The host end of the serial link: commands with retries, replies by sequence
number, heartbeats, telemetry and events to subscribers, reconnect after a
cable pull, and a frame log."""

from __future__ import annotations

import contextlib
import random
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import serial

from lunasample import dictionary, paths
from lunasample.errors import UserError
from lunasample.firmware.sampler import packed, proto
from lunasample.link.framelog import FrameLog
from lunasample.link.retry import RetryPolicy
from lunasample.link.transport import open_port

Fields = dict[str, str]


def _board_file(name: str) -> dict[str, object] | None:
    """The board file named in HELLO (its limits refine argument ranges), if known here."""
    try:
        return paths.load_board(name)
    except (UserError, OSError, ValueError):
        return None


def _read_chunk(ser: serial.SerialBase, wait_s: float = 0.05) -> bytes:
    """Whatever has arrived, waiting up to wait_s for the first byte.

    Ports with a file descriptor (POSIX serial, PTY, socket://) are waited
    on with select and read whole; pyserial's socket handler reports at most
    one byte in `in_waiting`, so reading by that count would cost a system
    call per byte. Other ports (Windows COM) fall back to in_waiting.
    """
    try:
        fd = ser.fileno()
    except (AttributeError, NotImplementedError, serial.SerialException):
        return ser.read(max(1, ser.in_waiting))
    ready, _, _ = select.select([fd], [], [], wait_s)
    if not ready:
        return b""
    timeout = ser.timeout
    ser.timeout = 0  # non-blocking: take what is there
    try:
        data = ser.read(65536)
    finally:
        ser.timeout = timeout
    if not data:
        raise serial.SerialException("port closed")
    return data


class LinkError(UserError):
    """The board could not be reached or stopped answering."""


class CommandRejected(UserError):
    """The board answered NAK (or DONE with ok=0). `fields` are the reply's."""

    def __init__(self, command: str, code: int, text: str, fields: Fields | None = None) -> None:
        name = proto.ERROR_NAMES.get(code, "error")
        super().__init__(f"board rejected {command}: {name} ({code}): {text}")
        self.command = command
        self.code = code
        self.text = text
        self.fields = fields or {}


class ArgumentRefused(CommandRejected):
    """The host refused a command before sending it: its arguments break the
    dictionary (code: the error the board would answer with)."""

    def __init__(self, command: str, code: int, text: str) -> None:
        UserError.__init__(self, f"{text} (not sent)")
        self.command = command
        self.code = code
        self.text = text
        self.fields = {}


@dataclass
class Frame:
    seq: int
    mtype: str
    fields: Fields
    t: float = field(default_factory=time.monotonic)
    size: int = 0  # bytes on the wire, newline included (0: not received)

    def int(self, key: str, default: int = 0) -> int:
        """A field as int (default when absent or not a number)."""
        try:
            return int(self.fields.get(key, default))
        except ValueError:
            return default


@dataclass
class Hello:
    firmware: str
    board: str
    protocol: int
    caps: list[str]
    reset_cause: int
    loop_hz: int


@dataclass
class _Pending:
    mtype: str
    frame: bytes
    ack: Frame | None = None
    done: Frame | None = None
    rebooted: bool = False
    event: threading.Event = field(default_factory=threading.Event)


class BoardClock:
    """Tracks the board's uptime (ms) against real time, to time long
    operations in board time and to estimate the emulator's speed factor."""

    def __init__(self) -> None:
        self.board_ms = 0
        self.real = 0.0
        self._first: tuple[float, int] | None = None
        self.speed = 1.0

    def update(self, board_ms: int) -> None:
        now = time.monotonic()
        if self._first is None or board_ms < self.board_ms:  # first sample, or a reboot
            self._first = (now, board_ms)
        self.board_ms, self.real = board_ms, now
        dt = now - self._first[0]
        if dt > 0.2:
            self.speed = max(1e-3, (board_ms - self._first[1]) / 1000.0 / dt)


class Link:
    """A session with one board. Use as a context manager.

    `port` is anything pyserial opens. Replies are matched by sequence
    number; a lost reply is recovered by resending the same frame, which the
    board answers from its reply cache without acting twice.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        retry: RetryPolicy | None = None,
        log_path: Path | None = None,
        silence_timeout_s: float = 5.0,
        reconnect_s: float = 10.0,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.retry = retry or RetryPolicy()
        self.silence_timeout_s = silence_timeout_s
        self.reconnect_s = reconnect_s
        self.log = FrameLog(log_path) if log_path else None
        self.clock = BoardClock()
        self.sid = f"{random.getrandbits(32):08x}"
        self.hello: Hello | None = None
        self.last_rx = 0.0
        self.telemetry: Fields = {}
        # The ids of a packed TM frame's values, from the last TMRATE reply.
        self.tm_sel: str | None = None
        self.dictionary = dictionary.load()
        self.stats = {
            "tx": 0,
            "rx": 0,
            "bad": 0,
            "retries": 0,
            "rx_lost": 0,
            "reconnects": 0,
            "tm_unknown": 0,
        }
        self._seq = random.randrange(proto.SEQ_MOD)
        self._ser: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self._wlock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._subs: list[tuple[str, Callable[[Frame], None]]] = []
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._session_ok = threading.Event()
        self._session_ok.set()
        self._reader: threading.Thread | None = None
        self._last_board_seq: int | None = None
        self._board_file: dict[str, object] | None = None

    # -- session -------------------------------------------------------
    def open(self) -> Hello:
        """Open the port, start the reader, and do the HELLO handshake."""
        self._ser = open_port(self.port, self.baudrate)
        self._connected.set()
        self._reader = threading.Thread(target=self._read_loop, name="link-reader", daemon=True)
        self._reader.start()
        return self.handshake()

    def handshake(self) -> Hello:
        """HELLO: learn the board; refuse an incompatible protocol version.

        The host offers its version; a board that does not speak it answers
        NAK bad_version with the versions it does speak (`proto`).
        """
        try:
            r = self.command("HELLO", sid=self.sid, proto=proto.PROTOCOL_VERSION)
        except CommandRejected as e:
            if e.code != proto.E_BAD_VERSION:
                raise
            raise LinkError(
                f"board on {self.port} speaks protocol v{e.fields.get('proto', '?')}, this host "
                f"speaks v{proto.PROTOCOL_VERSION}: flash matching firmware with "
                "`lunasample flash`"
            ) from None
        except LinkError:
            raise LinkError(
                f"no answer from a lunasample board on {self.port} "
                "(wrong port, or the firmware is not running: try `lunasample flash`)"
            ) from None
        h = Hello(
            firmware=r.fields.get("fw", "?"),
            board=r.fields.get("board", "?"),
            protocol=r.int("proto", -1),
            caps=r.fields.get("caps", "").split("+"),
            reset_cause=r.int("cause"),
            loop_hz=r.int("rate"),
        )
        if h.protocol != proto.PROTOCOL_VERSION:
            raise LinkError(
                f"board on {self.port} answered HELLO with protocol v{h.protocol}, this host "
                f"speaks v{proto.PROTOCOL_VERSION}: flash matching firmware with "
                "`lunasample flash`"
            )
        self.hello = h
        self._board_file = _board_file(h.board)
        return h

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._ser is not None:
            with contextlib.suppress(Exception):
                self._ser.close()
        if self.log:
            self.log.close()

    def __enter__(self) -> Link:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, mtype: str, fn: Callable[[Frame], None]) -> None:
        """Call fn(frame) for every received frame of type mtype ("*" for all)."""
        self._subs.append((mtype, fn))

    # -- commands ------------------------------------------------------
    def _next_seq(self) -> int:
        with self._lock:
            self._seq = (self._seq + 1) % proto.SEQ_MOD
            return self._seq

    def command(self, mtype: str, **fields: object) -> Frame:
        """Send a command and return its ACK; NAK raises CommandRejected.

        The arguments are checked against the dictionary first (with the
        board file's limits once HELLO named the board): a bad one raises
        ArgumentRefused and nothing is sent. A lost frame or reply is resent
        (same seq) up to the retry budget.
        """
        return self.send_command(mtype, fields)

    def send_command(self, mtype: str, fields: dict[str, object], check: bool = True) -> Frame:
        """command() with the fields as a dict; check=False sends arguments
        the dictionary would refuse (to test the board's own checks)."""
        if check:
            try:
                self.dictionary.check_args(mtype, fields, self._board_file)  # type: ignore[arg-type]
            except dictionary.ArgError as e:
                raise ArgumentRefused(mtype, e.code, e.text) from None
        return self._send(mtype, fields)

    def _send(self, mtype: str, fields: dict[str, object]) -> Frame:
        seq, p = self._start(mtype, fields)
        return self._finish(seq, p)

    def _start(self, mtype: str, fields: dict[str, object]) -> tuple[int, _Pending]:
        """Number, register and send a command frame (first attempt)."""
        seq = self._next_seq()
        p = _Pending(mtype, proto.encode(seq, mtype, {k: v for k, v in fields.items()}))
        with self._lock:
            self._pending[seq] = p
        self._write(p.frame)
        return seq, p

    def _finish(self, seq: int, p: _Pending) -> Frame:
        """Wait for the reply to a sent command, resending the same frame
        (same seq) on each timeout; the ACK, or CommandRejected for a NAK."""
        mtype = p.mtype
        try:
            for attempt, wait in enumerate(self.retry.timeouts()):
                if attempt:
                    self.stats["retries"] += 1
                    if mtype != "HELLO":
                        # After a reboot, resend only once the new HELLO is
                        # done, so what the board records names our session.
                        self._session_ok.wait(self.reconnect_s)
                    p.event.clear()
                    self._write(p.frame)
                if self._wait_reply(p, wait):
                    break
            else:
                raise LinkError(
                    f"no reply to {mtype} from {self.port} after {self.retry.retries + 1} attempts"
                )
            assert p.ack is not None
            if p.ack.mtype == "NAK":
                raise CommandRejected(
                    mtype, p.ack.int("err"), p.ack.fields.get("msg", ""), p.ack.fields
                )
            return p.ack
        finally:
            if p.ack is None or p.ack.fields.get("ack") != "acc":
                with self._lock:
                    self._pending.pop(seq, None)

    def command_window(
        self,
        commands: Iterable[tuple[str, dict[str, object]]],
        window: int = 8,
        check: bool = True,
    ) -> list[Frame | CommandRejected]:
        """Send commands in order with up to `window` awaiting their replies.

        The board answers each as it arrives (replies matched by seq), so a
        window hides the round trip. Returns, in order, each command's ACK
        or the CommandRejected of its NAK; LinkError if one is lost after
        its retries. Every command's arguments are checked before any is
        sent. Long commands return their ACK acc; wait for DONE with run().
        """
        if window < 1:
            raise ValueError("window must be >= 1")
        cmds = [(m, dict(f)) for m, f in commands]
        if check:
            for m, f in cmds:
                try:
                    self.dictionary.check_args(m, f, self._board_file)  # type: ignore[arg-type]
                except dictionary.ArgError as e:
                    raise ArgumentRefused(m, e.code, e.text) from None
        out: list[Frame | CommandRejected] = []
        inflight: deque[tuple[int, _Pending]] = deque()

        def finish_oldest() -> None:
            seq, p = inflight.popleft()
            try:
                out.append(self._finish(seq, p))
            except CommandRejected as e:
                out.append(e)

        try:
            for m, f in cmds:
                if len(inflight) >= window:
                    finish_oldest()
                inflight.append(self._start(m, f))
            while inflight:
                finish_oldest()
        finally:
            with self._lock:  # after a LinkError: forget the rest
                for seq, _ in inflight:
                    self._pending.pop(seq, None)
        return out

    def _wait_reply(self, p: _Pending, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self._connected.is_set():
                # Cable pulled: wait for the reader to reconnect, then resend.
                if not self._connected.wait(self.reconnect_s):
                    raise LinkError(f"lost the board on {self.port}")
                return False
            if p.event.wait(min(left, 0.05)):
                ack = p.ack
                if (
                    ack is not None
                    and ack.mtype == "NAK"
                    and ack.int("err") in (proto.E_BAD_CRC, proto.E_BAD_FRAME, proto.E_TOO_LONG)
                ):
                    p.ack = None  # our frame was damaged on the way: resend now
                    return False
                return ack is not None or p.done is not None

    def run(self, mtype: str, timeout_board_s: float, **fields: object) -> Frame:
        """Send a long-running command and wait for its DONE, in board time.

        timeout_board_s counts the board's own clock, so an emulator running
        50x faster than real time finishes in 1/50 of the wall time.
        """
        ack = self.send_command(mtype, fields)
        if ack.fields.get("ack") != "acc":
            return ack
        seq = int(ack.fields["re"])
        with self._lock:
            p = self._pending[seq]
        start_ms = self.clock.board_ms
        try:
            while p.done is None:
                p.event.wait(0.05)
                p.event.clear()
                if p.done is not None:
                    break
                if p.rebooted:
                    raise LinkError(f"the board rebooted during {mtype}")
                if (self.clock.board_ms - start_ms) / 1000.0 > timeout_board_s:
                    raise LinkError(
                        f"{mtype} did not finish within {timeout_board_s:g} s of board time"
                    )
                if time.monotonic() - self.last_rx > self.silence_timeout_s:
                    if self._connected.is_set():
                        raise LinkError(f"board on {self.port} went silent during {mtype}")
                    if not self._connected.wait(self.reconnect_s):
                        raise LinkError(f"lost the board on {self.port} during {mtype}")
                    self._write(p.frame)  # same seq: answered from the board's cache
        finally:
            with self._lock:
                self._pending.pop(seq, None)
        if p.done.int("ok") != 1:
            raise CommandRejected(mtype, p.done.int("err"), p.done.fields.get("msg", ""))
        return p.done

    def unpack_tm(self, text: str) -> Fields | None:
        """A packed TM frame's values by name (as text, states by name), or
        None when the layout (the last TMRATE's sel) is unknown or does not
        match."""
        sel = self.tm_sel
        if not sel:
            return None
        try:
            values = packed.unpack(text)
        except ValueError:
            return None
        if len(values) != len(sel):
            return None
        out: Fields = {}
        d = self.dictionary
        for c, v in zip(sel, values, strict=True):
            f = d.tm_by_char(c)
            if f is None:
                return None
            if f["name"] == "st":
                names = d.enum("states")
                out["st"] = names[v] if 0 <= v < len(names) else str(v)
            else:
                out[f["name"]] = str(v)
        return out

    # -- wire ----------------------------------------------------------
    def _write(self, frame: bytes) -> None:
        with self._wlock:
            ser = self._ser
            if ser is None:
                return
            try:
                ser.write(frame)
            except (serial.SerialException, OSError):
                self._connected.clear()
                return
        self.stats["tx"] += 1
        if self.log:
            self.log.write("tx", frame)

    def _read_loop(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            ser = self._ser
            try:
                assert ser is not None
                chunk = _read_chunk(ser)
            except (serial.SerialException, OSError, TypeError, AttributeError, ValueError):
                self._reconnect()
                buf.clear()
                continue
            if not chunk:
                continue
            buf += chunk
            while True:
                i = buf.find(b"\n")
                if i < 0:
                    if len(buf) > 4 * proto.MAX_FRAME:
                        del buf[: -proto.MAX_FRAME]
                    break
                line = bytes(buf[: i + 1])
                del buf[: i + 1]
                self._on_line(line)

    def _reconnect(self) -> None:
        self._connected.clear()
        with contextlib.suppress(Exception):
            assert self._ser is not None
            self._ser.close()
        deadline = time.monotonic() + self.reconnect_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                self._ser = open_port(self.port, self.baudrate)
            except UserError:
                continue
            self.stats["reconnects"] += 1
            self._connected.set()
            threading.Thread(target=self._rehello, daemon=True).start()
            return
        self._stop.set()

    def _rehello(self, resend: bool = True) -> None:
        # Same session id: the board keeps its reply cache for our retries,
        # so resending a long command that was running gets its DONE (if it
        # finished while the cable was out) without running it again.
        try:
            self.handshake()
        except UserError:
            return
        except Exception:
            if self._stop.is_set():
                return  # the link was closed under the handshake: nothing to redo
            raise
        finally:
            self._session_ok.set()
        if resend and not self._stop.is_set():
            with self._lock:
                waiting = [
                    p for p in self._pending.values() if p.ack is not None and p.done is None
                ]
            for p in waiting:
                self._write(p.frame)

    def _on_line(self, line: bytes) -> None:
        start = line.find(b"$")
        if start < 0:
            return  # REPL chatter or a line that lost its '$'
        try:
            seq, mtype, fields = proto.decode(line[start:])
        except proto.FrameError:
            self.stats["bad"] += 1
            return
        if self.log:
            self.log.write("rx", line[start:])
        self.stats["rx"] += 1
        self.last_rx = time.monotonic()
        if self._last_board_seq is not None:
            gap = (seq - self._last_board_seq) % proto.SEQ_MOD
            if 1 < gap < 1000:
                self.stats["rx_lost"] += gap - 1
        self._last_board_seq = seq
        if mtype == "TM" and "v" in fields:
            named = self.unpack_tm(fields["v"])
            if named is None:
                self.stats["tm_unknown"] += 1
            else:
                fields = named
        fr = Frame(seq, mtype, fields, size=len(line) - start)
        if mtype in ("ACK", "NAK", "DONE"):
            re = fr.int("re", -1)
            with self._lock:
                p = self._pending.get(re)
            if p is not None:
                if p.mtype == "TMRATE" and mtype == "ACK" and "sel" in fields:
                    # Here, not in command(): the first TM may follow at once.
                    self.tm_sel = fields["sel"]
                if mtype == "DONE":
                    p.done = fr
                elif p.ack is None or mtype == "ACK":
                    p.ack = fr
                p.event.set()
        elif mtype == "HB":
            self.clock.update(fr.int("up"))
            # Answer every board heartbeat: the board counts in its own time,
            # so this keeps pace with any emulator speed.
            self._write(proto.encode(self._next_seq(), "HB"))
        elif mtype == "TM":
            if "t" in fields:
                self.clock.update(fr.int("t"))
                self.telemetry = fields
        elif mtype == "EV" and fields.get("kind") == "boot" and self.hello is not None:
            # The board rebooted (power cut, watchdog): it forgot our session
            # and stopped whatever ran. Say HELLO again so what it records next
            # carries our session id, and end the waits for running commands.
            self._session_ok.clear()
            with self._lock:
                for p in self._pending.values():
                    if p.ack is not None and p.done is None:
                        p.rebooted = True
                        p.event.set()
            threading.Thread(target=self._rehello, args=(False,), daemon=True).start()
        for want, fn in self._subs:
            if want in ("*", mtype):
                fn(fr)
