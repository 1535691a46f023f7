"""The ground station's link thread: it owns the serial link to the board.

It opens the link (HELLO), asks for telemetry, reads the parameter table,
forwards every telemetry sample, event and long command's DONE to a
callback, and notices a lost board: no frame for `lost_after_s` shows as
lost, and a link still silent after `reopen_after_s` is closed and opened
again until the board answers. Commands from the page run on the caller's
thread through the same Link, whose command() is thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lunasample.errors import UserError
from lunasample.link.client import CommandRejected, Frame, Link, LinkError
from lunasample.link.retry import RetryPolicy

log = logging.getLogger(__name__)

Message = dict[str, Any]

# What the page sends may not break the session the link thread keeps.
RESERVED = frozenset({"HELLO", "HB"})
PAGE_TM_HZ = 25  # at most this many telemetry samples a second go to the pages


class LinkThread(threading.Thread):
    """Connects to `url` and keeps connecting; publishes what the board says."""

    def __init__(
        self,
        url: str,
        publish: Callable[[Message], None],
        tm_hz: int = 10,
        hb_timeout_ms: int | None = None,
        lost_after_s: float = 2.5,
        reopen_after_s: float = 6.0,
        retry_s: float = 1.0,
        log_path: Path | None = None,
    ) -> None:
        super().__init__(name="gds-link", daemon=True)
        self.url = url
        self.publish = publish
        self.tm_hz = tm_hz
        self.hb_timeout_ms = hb_timeout_ms
        self.lost_after_s = lost_after_s
        self.reopen_after_s = reopen_after_s
        self.retry_s = retry_s
        self.log_path = log_path
        self.link: Link | None = None
        self.state = "connecting"
        self.attempts = 0
        self.connects = 0
        self._halt = threading.Event()
        self._resetup = threading.Event()  # the board rebooted: telemetry rate is gone
        self._long: dict[int, str] = {}  # seq of a long command -> its name, for DONE
        self._last_tm = 0.0
        self._pub_t: str | None = None  # board t of the last sample passed on
        self._pub_at = 0.0
        self._job: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------
    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._close()

    def run(self) -> None:
        while not self._halt.is_set():
            if self.link is None:
                if not self._open():
                    self._halt.wait(self.retry_s)
                continue
            self._watch()
            self._halt.wait(0.1)

    def _set_state(self, state: str, why: str = "", again: bool = False) -> None:
        """Publish a change of state (or, with again, a new attempt's outcome)."""
        if state != self.state or again:
            self.state = state
            log.info("link %s %s", state, why)
            self.publish(self.status(why))

    def status(self, why: str = "") -> Message:
        """The link's state as the page shows it."""
        lk = self.link
        hello = lk.hello if lk is not None else None
        return {
            "type": "link",
            "state": self.state,
            "why": why,
            "url": self.url,
            "attempts": self.attempts,
            "connects": self.connects,
            "hello": None
            if hello is None
            else {
                "fw": hello.firmware,
                "board": hello.board,
                "proto": hello.protocol,
                "caps": hello.caps,
                "cause": hello.reset_cause,
                "rate": hello.loop_hz,
            },
            "stats": dict(lk.stats) if lk is not None else {},
            "speed": round(lk.clock.speed, 3) if lk is not None else None,
        }

    def _open(self) -> bool:
        self.attempts += 1
        retry = RetryPolicy(ack_timeout_s=0.4, retries=3)
        lk = Link(self.url, retry=retry, log_path=self.log_path, reconnect_s=3.0)
        lk.subscribe("TM", self._on_tm)
        lk.subscribe("EV", self._on_ev)
        lk.subscribe("DONE", self._on_done)
        try:
            lk.open()
        except UserError as e:
            lk.close()
            self._set_state("lost" if self.connects else "connecting", str(e), again=True)
            return False
        self.link = lk
        self.connects += 1
        self._last_tm = time.monotonic()
        self._set_state("up", "connected")
        self._spawn(lk, params=True)
        return True

    def _spawn(self, lk: Link, params: bool) -> bool:
        """Configure the board on a helper thread, so that a board vanishing
        mid-way never holds up the watch that reports it lost."""
        if self._job is not None and self._job.is_alive():
            return False
        self._job = threading.Thread(
            target=self._configure, args=(lk, params), name="gds-setup", daemon=True
        )
        self._job.start()
        return True

    def _configure(self, lk: Link, params: bool) -> None:
        try:
            self._setup(lk)
        except UserError as e:
            log.info("telemetry setup failed: %s", e)
            return
        if params:
            self.publish({"type": "params", "rows": self._read_params(lk)})

    def _setup(self, lk: Link) -> None:
        if self.hb_timeout_ms is not None:
            lk.command("HBTO", ms=self.hb_timeout_ms)
        lk.command("TMRATE", hz=self.tm_hz)

    def _close(self) -> None:
        lk, self.link = self.link, None
        if lk is not None:
            lk.close()

    def _watch(self) -> None:
        lk = self.link
        assert lk is not None
        silent = time.monotonic() - lk.last_rx
        if silent > self.reopen_after_s:
            # The link's own reconnect gave up or the board is gone: start over.
            self._close()
            self._set_state("lost", f"no frame for {silent:.0f} s, reopening")
            return
        if silent > self.lost_after_s:
            self._set_state("lost", f"no frame for {silent:.1f} s")
            return
        self._set_state("up", "board heard again")
        # A board that rebooted, or came back on a port we reopened, has
        # forgotten the telemetry rate (its boot event may have gone unheard).
        tm_silent = time.monotonic() - self._last_tm > max(2.0, 5.0 / self.tm_hz)
        if (self._resetup.is_set() or tm_silent) and self._spawn(lk, self._resetup.is_set()):
            self._resetup.clear()
            self._last_tm = time.monotonic()  # ask again only after another silence

    # -- frames from the board (link reader thread) --------------------
    def _on_tm(self, fr: Frame) -> None:
        now = self._last_tm = time.monotonic()
        t = fr.fields.get("t")
        if t != self._pub_t:
            # A board faster than real time (an unpaced emulator) sends more
            # samples than a page can draw: pass whole samples at PAGE_TM_HZ.
            if now - self._pub_at < 1.0 / PAGE_TM_HZ:
                return
            self._pub_t, self._pub_at = t, now
        self.publish({"type": "tm", "f": fr.fields, "rx": time.time()})

    def _on_ev(self, fr: Frame) -> None:
        if fr.fields.get("kind") == "boot":
            self._resetup.set()
        self.publish({"type": "ev", "f": fr.fields, "rx": time.time()})

    def _on_done(self, fr: Frame) -> None:
        # A long command the page did not send (a mission's SAMPLE) has no name here.
        name = self._long.pop(fr.int("re", -1), f"re={fr.fields.get('re', '?')}")
        self.publish({"type": "done", "name": name, "f": fr.fields, "rx": time.time()})

    # -- commands ------------------------------------------------------
    def command(self, name: str, args: dict[str, Any]) -> Message:
        """Send one command; the reply as the page shows it (never raises)."""
        lk = self.link
        # An E-STOP is tried whatever the link looks like: a board that
        # hears it stops, and one that does not is no worse off.
        if lk is None or (self.state != "up" and name != "ESTOP"):
            return {"ok": False, "err": "link_down", "msg": "no board connected"}
        try:
            ack = lk.command(name, **args)
        except CommandRejected as e:
            return {"ok": False, "code": e.code, "err": _err_name(e.code), "msg": e.text}
        except LinkError as e:
            return {"ok": False, "err": "link", "msg": str(e)}
        if ack.fields.get("ack") == "acc":
            self._long[ack.int("re", -1)] = name
        return {"ok": True, "f": ack.fields}

    def _read_params(self, lk: Link) -> list[Message]:
        """Every parameter's name, value and range, as the board holds them."""
        rows: list[Message] = []
        try:
            first = lk.command("PARAMS", i=0)
            for i in range(first.int("n")):
                row = first if i == 0 else lk.command("PARAMS", i=i)
                name = row.fields.get("name", "")
                p = lk.command("PARAM", name=name)
                rows.append({k: p.fields.get(k) for k in ("name", "value", "lo", "hi")})
        except UserError as e:
            log.info("parameter table incomplete: %s", e)
        return rows


def _err_name(code: int) -> str:
    from lunasample.firmware.sampler import proto

    return str(proto.ERROR_NAMES.get(code, "error"))
