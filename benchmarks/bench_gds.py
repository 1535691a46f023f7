"""Ground station latency: an event on the board to its row in the page's DOM.

An emulated board at speed 1 (its clock paced to real time), the ground
station (link thread + uvicorn) and a headless Debian chromium driven by
Playwright run in this process. Each cycle sends ARM then DISARM through the
station's link; each produces an `EV kind=state` frame that carries `t`, the
board's own clock (ms) at the state change. The page adds a row for it to
the event log.

Timestamps, all brought onto this process's wall clock (time.time()):
- the board's event: t (board ms) + the board-to-host offset measured by a
  PING just before each cycle. PING answers `t`, the board's ms when it
  handled the ping; the host sends at s and hears the reply at r, so the
  board's t corresponds to (s + r) / 2 within +-(r - s) / 2 (NTP's method;
  the round trip is ~1-3 ms here) plus the board clock's 1 ms resolution.
- the DOM update: a Playwright init script installs a MutationObserver on the
  page before its scripts run; it records performance.timeOrigin +
  performance.now() when an event row is inserted, with the row's board t.
  The page clock's offset from time.time() is measured the same way (an
  evaluate() bracketed by time.time(), the shortest of several).
- the host's receipt of the event frame (the link's subscriber, time.time()),
  to split the total into board->host and host->DOM.

Baseline, in the same run and the same browser: a bare page from the
station's origin that opens the same websocket and adds the same row for
each event, with nothing else on it (no plots, readouts or tables). Both
pages are open at once and see every event; page_vs_bare_p95 is what the
ground station's page costs over it, apart from the machine's load.

Figures: percentiles over all events in ms. The goal is p95 <= 100 ms.
What is in it: the firmware's delay from the state change to sending the
EV frame (its service turn), the serial bridge, the link's reader thread,
the station's fan-out on the asyncio loop, the websocket, JSON parsing and
the DOM insertion in chromium.

    python benchmarks/bench_gds.py [--quick] [--cycles N]

Last line: event_to_dom_p95_ms=<x> event_to_dom_p50_ms=<y> event_to_host_p95_ms=<z>
host_to_dom_p95_ms=<w> bare_page_p95_ms=<b> page_vs_bare_p95=<r> events=<n>
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import figures_line, ratio

from lunasample.emulator.board import EmulatedBoard
from lunasample.gds.catalog import load_dictionary
from lunasample.gds.chromium import CHROMIUM
from lunasample.gds.chromium import CHROMIUM_ARGS as BASE_ARGS
from lunasample.gds.server import ThreadedServer
from lunasample.gds.station import Station
from lunasample.link.client import Frame

CHROMIUM_ARGS = [
    *BASE_ARGS,
    # The baseline page is fulfilled by Playwright, so it has no IP address
    # space and Chromium's local-network-access check would block its socket
    # to 127.0.0.1; the check is no part of the path being timed.
    "--disable-features=LocalNetworkAccessChecks",
]

# Runs before the page's own scripts: the DOM time of every event row, and
# when each state event's websocket message reached the page.
HOOK = """
window.__evdom = [];
window.__evws = [];
const _WebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new _WebSocket(...args);
  ws.addEventListener("message", (e) => {
    const now = performance.timeOrigin + performance.now();
    const m = JSON.parse(e.data);
    if (m.type === "ev" && m.f.kind === "state")
      window.__evws.push([m.f.t + ":st=" + m.f.st, now]);
  });
  return ws;
};
window.WebSocket.prototype = _WebSocket.prototype;
Object.assign(window.WebSocket, { OPEN: 1, CLOSED: 3, CONNECTING: 0, CLOSING: 2 });
new MutationObserver((muts) => {
  const now = performance.timeOrigin + performance.now();
  for (const m of muts) for (const n of m.addedNodes) {
    if (n.dataset && n.dataset.kind === "ev-state" && n.dataset.t !== undefined)
      window.__evdom.push([n.dataset.t + ":" + n.cells[3].textContent, now]);
  }
}).observe(document, { childList: true, subtree: true });
"""


# The baseline page: the same websocket and the same rows, and nothing else
# (no plots, readouts or tables), served from the station's origin.
BARE = """<!doctype html><table><tbody id="log"></tbody></table><script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: null }));
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type !== "ev") return;
  const tr = document.createElement("tr");
  tr.dataset.kind = "ev-" + m.f.kind;
  tr.dataset.t = m.f.t;
  for (const text of ["", m.f.t, m.f.kind, "st=" + m.f.st]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
  }
  document.getElementById("log").prepend(tr);
};
</script>"""


def pct(xs: list[float], q: float) -> float:
    """The q-th percentile (nearest rank above), q in 0..100."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


def board_offset(station: Station, tries: int = 5) -> float:
    """host wall seconds - board seconds, from the PING with the shortest round trip."""
    best: tuple[float, float] | None = None
    for i in range(tries):
        s = time.time()
        reply = station.link.command("PING", {"n": i})
        r = time.time()
        if not reply["ok"]:
            raise SystemExit(f"PING failed: {reply}")
        off = (s + r) / 2 - int(reply["f"]["t"]) / 1000.0
        if best is None or r - s < best[0]:
            best = (r - s, off)
    assert best is not None
    return best[1]


def page_offset(page: Any, tries: int = 7) -> float:
    """host wall ms - the page's performance.timeOrigin + now(), shortest bracket."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        s = time.time() * 1000
        p = float(page.evaluate("performance.timeOrigin + performance.now()"))
        r = time.time() * 1000
        if best is None or r - s < best[0]:
            best = (r - s, (s + r) / 2 - p)
    assert best is not None
    return best[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="30 cycles instead of 150")
    ap.add_argument("--cycles", type=int, default=0, help="ARM/DISARM cycles (2 events each)")
    a = ap.parse_args()
    cycles = a.cycles or (30 if a.quick else 150)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    # "t:st=STATE" of a state event (two can share a board ms) -> host wall time heard
    host_rx: dict[str, float] = {}
    lock = threading.Lock()

    def on_ev(fr: Frame) -> None:
        if fr.fields.get("kind") == "state":
            with lock:
                host_rx[f"{fr.int('t')}:st={fr.fields.get('st')}"] = time.time()

    flash = Path(tempfile.mkdtemp(prefix="bench-gds-"))
    profile = tempfile.mkdtemp(prefix="bench-gds-chromium-")
    expected: dict[str, float] = {}  # event key -> host wall time of the event
    dom: dict[bool, dict[str, float]] = {}  # bare page? -> event key -> DOM row's time
    try:
        with EmulatedBoard(speed=1.0, fs_dir=flash / "fs") as board:
            station = Station(board.url, load_dictionary(), hb_timeout_ms=5000).start()
            server = ThreadedServer(station).start()
            try:
                deadline = time.monotonic() + 15
                while station.link.state != "up" or station.link.link is None:
                    if time.monotonic() > deadline:
                        raise SystemExit("the station did not connect to the emulated board")
                    time.sleep(0.05)
                station.link.link.subscribe("EV", on_ev)
                with sync_playwright() as pw:
                    ctx = pw.chromium.launch_persistent_context(
                        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                    )
                    page = ctx.new_page()
                    page.add_init_script(HOOK)
                    page.goto(server.url)
                    page.wait_for_selector('#link-state[data-state="up"]', timeout=15000)
                    bare = ctx.new_page()
                    bare.add_init_script(HOOK)
                    bare.route(
                        server.url + "bare",
                        lambda route: route.fulfill(body=BARE, content_type="text/html"),
                    )
                    bare.goto(server.url + "bare")
                    bare.wait_for_function("window.__evws !== undefined")
                    station.link.command("DISARM", {})
                    offsets = {p: page_offset(p) for p in (page, bare)}
                    for _ in range(cycles):
                        b_off = board_offset(station)
                        for cmd in ("ARM", "DISARM"):
                            reply = station.link.command(cmd, {})
                            if not reply["ok"]:
                                raise SystemExit(f"{cmd} failed: {reply}")
                        time.sleep(0.02)
                        with lock:
                            for key in host_rx:
                                board_s = int(key.split(":")[0]) / 1000.0
                                expected.setdefault(key, board_s + b_off)
                    for p in (page, bare):
                        p.wait_for_function(
                            "ts => ts.every(t => window.__evdom.some(e => e[0] === t))",
                            arg=sorted(expected),
                            timeout=15000,
                        )
                        off = (offsets[p] + page_offset(p)) / 2
                        dom[p is bare] = {
                            key: ms + off for key, ms in p.evaluate("window.__evdom")
                        }
                    ws_in = {
                        key: ms + (offsets[page] + page_offset(page)) / 2
                        for key, ms in page.evaluate("window.__evws")
                    }
                    ctx.close()
            finally:
                server.stop()
                station.stop()
    finally:
        shutil.rmtree(flash, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)

    to_dom, to_bare, to_host, host_dom, host_ws = [], [], [], [], []
    for key, ev_wall in expected.items():
        if key not in dom[False] or key not in dom[True]:
            continue
        to_dom.append(dom[False][key] - ev_wall * 1000)
        to_bare.append(dom[True][key] - ev_wall * 1000)
        to_host.append((host_rx[key] - ev_wall) * 1000)
        host_dom.append(dom[False][key] - host_rx[key] * 1000)
        if key in ws_in:
            host_ws.append(ws_in[key] - host_rx[key] * 1000)
    # Every event the host heard reached both pages (the waits above); the
    # board should have sent one per command.
    if len(to_dom) < 0.95 * 2 * cycles:
        raise SystemExit(f"only {len(to_dom)} of {2 * cycles} state events reached the DOM")
    print(f"{len(to_dom)} state events of {2 * cycles} expected over {cycles} ARM/DISARM cycles")
    print(
        f"board event -> DOM row: p50 {statistics.median(to_dom):.1f} ms, "
        f"p95 {pct(to_dom, 95):.1f} ms, min {min(to_dom):.1f} max {max(to_dom):.1f} ms "
        "(goal p95 <= 100 ms)"
    )
    print(f"  board event -> host link: p95 {pct(to_host, 95):.1f} ms")
    print(f"  host link -> DOM row:     p95 {pct(host_dom, 95):.1f} ms")
    print(f"    of which host link -> page's websocket: p95 {pct(host_ws, 95):.1f} ms")
    print(
        f"baseline, a bare page on the same socket: p50 {statistics.median(to_bare):.1f} ms, "
        f"p95 {pct(to_bare, 95):.1f} ms; the ground station's page / bare: "
        f"{ratio(pct(to_dom, 95), pct(to_bare, 95)):.2f} at p95"
    )
    print(
        figures_line(
            {
                "event_to_dom_p95_ms": pct(to_dom, 95),
                "event_to_dom_p50_ms": statistics.median(to_dom),
                "event_to_host_p95_ms": pct(to_host, 95),
                "host_to_dom_p95_ms": pct(host_dom, 95),
                "bare_page_p95_ms": pct(to_bare, 95),
                "page_vs_bare_p95": ratio(pct(to_dom, 95), pct(to_bare, 95)),
                "events": len(to_dom),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
