"""Serial-link throughput, line use, loss under noise, telemetry share and framing cost.

Everything runs on emulated boards at speed 1 (real time), over the real
`Link`, through the emulator's bridge with its line-rate limit (10 bits per
byte, 8N1) set to 115200 baud (an ESP32 DevKitC's UART bridge), 12 Mbit/s
(USB CDC full speed, the RP2040's port) and unlimited (a bare pipe).

Baselines, measured in the same run with the same machinery:
- a *null firmware*: a micropython main.py with the same codec that answers
  every frame at once, behind the same bridge, line rate and Link; the
  firmware's command rate is reported as a ratio of it (what the control
  loop, which reads the line once per 1 ms tick, costs);
- the line's own limit: baud / 10 / bytes per round trip.

Speed 1 rather than 0: unpaced, the micropython process spins a core, and on
a 2-core machine the host's bridge and link threads then wait for a CPU, so
the figure would measure scheduling, not the link. At speed 1 the emulator
holds real time by sleeping in ~2 ms steps (simworld._pace), and a command
that arrives during a sleep waits for the next burst of loop ticks: one
command at a time, the rate on an unlimited line is bounded by that, and
swings with the machine's load (a loaded host lets the emulator fall behind
real time, so it stops sleeping). cmds_per_s is therefore measured with a
window of 8 PINGs in flight (Link.command_window): the firmware answers
every line waiting in one service pass, so a window hides the pacing;
cmds_per_s_window1 is the one-at-a-time rate.

Telemetry: TM at 10, 50 and 100 Hz over the 115200-baud line while the arm
homes and moves and the drill spins, so the packed values are a working
board's; its share is bytes/s x 10 bits / 115200 (what the firmware wrote,
from the received frames' sizes).

Loss: PINGs under `serial_noise` (bit flips per byte) and `serial_drop`
(lost lines); the board's STATUS counters (rxerr, replays) and the link's
`stats` are compared with what the line did (corrupted bytes, dropped lines).

Last line: cmds_per_s=<x> line_util_115200=<y> frames_lost=<z> ... tm_share_115200_100hz=<s>
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import figures_line, ratio

from lunasample.emulator import vfs
from lunasample.emulator.board import EmulatedBoard
from lunasample.firmware.sampler import proto
from lunasample.link.client import Frame, Link, LinkError

UART_BAUD = 115200
USB_FS_BAUD = 12_000_000  # USB full speed, 12 Mbit/s, counted as 8N1 like a UART
RATES = (("115200", UART_BAUD), ("usb_fs", USB_FS_BAUD), ("unlimited", 0))
WINDOW = 8  # commands in flight for cmds_per_s
MAVLINK2_MIN_OVERHEAD = 12  # bytes: 10 header + 2 CRC (mavlink.io, serialization)

# Answers every frame at once with the firmware's own codec and reply shape:
# the round trip of the bridge, the line and the Link without the firmware.
NULL_MAIN = """\
import sys
import time
from sampler import proto
_in = sys.stdin.buffer
_out = sys.stdout.buffer
rd = proto.LineReader()
tx = 0
while True:
    b = _in.read(1)
    if not b:
        break
    line = rd.feed(b[0])
    if not line:
        continue
    try:
        seq, mtype, f = proto.decode(line)
    except proto.FrameError:
        continue
    if mtype == "HB":
        continue
    r = [("re", seq), ("ack", "done")]
    if mtype == "HELLO":
        r += [("fw", "null"), ("board", "null"), ("proto", proto.PROTOCOL_VERSION),
              ("caps", "core"), ("cause", 1), ("rate", 1000)]
    else:
        r += [("n", f.get("n", "0")), ("t", time.ticks_ms())]
    _out.write(proto.encode(tx, "ACK", r))
    tx = (tx + 1) % 65536
"""


def null_board(workdir: Path) -> EmulatedBoard:
    """An emulated board whose main.py is the null firmware (flashed here, not at start)."""
    b = EmulatedBoard(speed=1, fs_dir=workdir / "null", flash=False)
    vfs.flash_image(b.fs_dir, b.board)
    (b.fs_dir / "main.py").write_text(NULL_MAIN)
    return b


def payload_len(fields: dict[str, str]) -> int:
    """Bytes of the fields themselves (`k=v,k=v`): everything else is framing."""
    return len(",".join(f"{k}={v}" for k, v in fields.items()))


def framing_len(fr: Frame) -> int:
    """Bytes of a frame that are not payload: '$', seq, ',', TYPE, ',', '*CRC', newline."""
    return 1 + len(str(fr.seq)) + 1 + len(fr.mtype) + (1 if fr.fields else 0) + 6


class Tap:
    """Collects received frames by type with their size on the wire."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[tuple[float, str, int, int, Frame]] = []

    def __call__(self, fr: Frame) -> None:
        # The Link unpacks TM frames into named fields: the size is the
        # received line's, the payload what is left without the framing.
        with self.lock:
            self.frames.append(
                (time.monotonic(), fr.mtype, fr.size, fr.size - framing_len(fr), fr)
            )

    def of(self, mtype: str, since: float = 0.0) -> list[tuple[float, str, int, int, Frame]]:
        with self.lock:
            return [f for f in self.frames if f[1] == mtype and f[0] >= since]


def ping_run(board: EmulatedBoard, lk: Link, n: int) -> tuple[float, float, float]:
    """(round trips per second, bytes on the line per round trip, line use 0..1).

    Line use counts the bytes both ways in bit times against the elapsed
    time: sequential request/reply never has both directions busy at once,
    so 1.0 means the line was never idle.
    """
    lk.command("PING", n=0)  # settle
    c0 = dict(board.line.carried)
    t0 = time.perf_counter()
    for i in range(n):
        r = lk.command("PING", n=i)
        if r.int("n", -1) != i:
            raise SystemExit(f"PING {i} answered with n={r.fields.get('n')}")
    dt = time.perf_counter() - t0
    moved = sum(board.line.carried.values()) - sum(c0.values())
    use = moved * 10 / board.line.baud / dt if board.line.baud else 0.0
    return n / dt, moved / n, use


def window_run(lk: Link, n: int, window: int) -> float:
    """PING round trips per second with `window` commands in flight."""
    lk.command("PING", n=0)  # settle
    t0 = time.perf_counter()
    replies = lk.command_window([("PING", {"n": i}) for i in range(n)], window=window)
    dt = time.perf_counter() - t0
    for i, r in enumerate(replies):
        if not isinstance(r, Frame) or r.int("n", -1) != i:
            raise SystemExit(f"PING {i} in a window answered with {r}")
    return n / dt


def windowed(fw_link: Link, null_link: Link, n: int, rounds: int, window: int) -> dict[str, float]:
    """PING rate on an unlimited line with `window` in flight, firmware and null
    firmware alternating as in throughput()."""
    runs = []
    for _ in range(rounds):
        f = window_run(fw_link, n // rounds, window)
        b = window_run(null_link, n // rounds, window)
        runs.append((f, b))
    rate = statistics.median(r[0] for r in runs)
    base = statistics.median(r[1] for r in runs)
    print(
        f"PING window {window} : {rate:6.0f} cmd/s = {rate / base:.2f} x null firmware "
        f"({base:.0f} cmd/s), unlimited line"
    )
    return {"cmds_per_s": rate, "null_cmds_per_s": base, "ratio_null": rate / base}


def throughput(
    fw: EmulatedBoard, fw_link: Link, null: EmulatedBoard, null_link: Link, n: int, rounds: int
) -> dict[str, dict[str, float]]:
    """PING rate of firmware and null firmware at each line rate.

    The two alternate in `rounds` short runs and each figure is the median,
    so a burst of load from other processes hits both sides alike.
    """
    out: dict[str, dict[str, float]] = {}
    for name, baud in RATES:
        fw.line.baud = null.line.baud = baud
        runs = []
        for _ in range(rounds):
            f = ping_run(fw, fw_link, n // rounds)
            b = ping_run(null, null_link, n // rounds)
            runs.append((f[0], b[0], f[0] / b[0], f[1], f[2], b[2]))
        med = [statistics.median(c) for c in zip(*runs, strict=True)]
        rate, base, rel, per_rt, use, base_use = med
        limit = baud / 10 / per_rt if baud else 0.0
        out[name] = {
            "cmds_per_s": rate,
            "null_cmds_per_s": base,
            "ratio_null": rel,
            "line_limit": limit,
            "bytes_per_rt": per_rt,
            "line_util": use,
            "null_line_util": base_use,
        }
        print(
            f"PING at {name:9}: {rate:6.0f} cmd/s = {rel:.2f} x null firmware "
            f"({base:.0f} cmd/s)"
            + (
                f", line limit {limit:.0f} cmd/s, line use {use:.2f} (null {base_use:.2f})"
                if baud
                else ""
            )
        )
    fw.line.baud = null.line.baud = 0
    return out


def telemetry(
    fw: EmulatedBoard, lk: Link, tap: Tap, seconds: float, posed: bool = True
) -> dict[str, float]:
    """TM at 10/50/100 Hz over a 115200-baud line: offered bytes/s vs line capacity.

    The drill spins and (posed) the arm stands at the container pose
    meanwhile, so the values (speed, current, joint angles) are a working
    board's, not an idle one's zeros. Homing and the move take ~14 s of the
    paced board's time: the quick run leaves the arm where it is.
    """
    fw.line.baud = UART_BAUD
    res: dict[str, float] = {}
    lk.command("ARM")
    if posed:
        lk.run("HOME", 300)
        lk.run("MOVE", 300, pose="container")
    lk.command("SPIN", rpm=120)
    for hz in (10, 50, 100):
        lk.command("TMRATE", hz=hz)
        time.sleep(0.3)
        t0 = time.monotonic()
        time.sleep(seconds)
        lk.command("TMRATE", hz=0)
        time.sleep(0.3)
        tms = tap.of("TM", since=t0)
        if len(tms) < 2:
            raise SystemExit(f"no telemetry at {hz} Hz")
        size = sum(f[2] for f in tms) / len(tms)
        board_s = (tms[-1][4].int("t") - tms[0][4].int("t")) / 1000.0
        host_s = tms[-1][0] - tms[0][0]
        got_hz = (len(tms) - 1) / board_s if board_s > 0 else 0.0
        offered = got_hz * size  # bytes/s the firmware wrote
        share = offered * 10 / UART_BAUD
        # Frames queue behind a full line: the backlog grows by the excess.
        lag_ms = (host_s - board_s) * 1000.0
        res[f"tm_share_115200_{hz}hz"] = share
        res[f"tm_share_usb_{hz}hz"] = offered * 10 / USB_FS_BAUD
        res[f"tm_lag_growth_ms_{hz}hz"] = lag_ms
        print(
            f"TM {hz:3d} Hz: {len(tms)} frames of {size:.0f} B, {offered:.0f} B/s = "
            f"{share:.2f} of 115200 baud, {offered * 10 / USB_FS_BAUD:.4f} of USB FS; "
            f"backlog grew {lag_ms:.0f} ms over {board_s:.1f} s"
        )
        time.sleep(max(0.0, lag_ms / 1000.0))  # let the line drain
    lk.command("STOP")
    lk.command("DISARM")
    fw.line.baud = 0
    return res


def overhead(tap: Tap, ping: bytes) -> dict[str, float]:
    """Framing bytes per frame ($, seq, type, CRC, newline) against the payload."""
    rows: dict[str, tuple[int, int, int]] = {}
    n, p = len(ping), payload_len(proto.decode(ping)[2])
    rows["PING"] = (1, n, p)
    for mtype in ("ACK", "HB", "TM"):
        fs = tap.of(mtype)
        if fs:
            rows[mtype] = (len(fs), sum(f[2] for f in fs), sum(f[3] for f in fs))
    res: dict[str, float] = {}
    for mtype, (count, total, pay) in rows.items():
        frame, payload = total / count, pay / count
        res[f"framing_{mtype.lower()}"] = frame - payload
        print(
            f"{mtype:4}: {frame:5.1f} B per frame, {frame - payload:4.1f} B framing "
            f"({(frame - payload) / frame:.0%}), payload {payload:.1f} B; MAVLink v2 "
            f"minimum {MAVLINK2_MIN_OVERHEAD} B = "
            f"{(frame - payload) / MAVLINK2_MIN_OVERHEAD:.2f} x"
        )
    return res


def status(lk: Link) -> dict[str, int]:
    """The board's link counters."""
    r = lk.command("STATUS")
    return {k: r.int(k) for k in ("cmds", "replays", "rxerr")}


def noise(fw: EmulatedBoard, lk: Link, n: int, p_bit: float, p_drop: float) -> dict[str, float]:
    """PINGs through a noisy line: what the line broke, what each end saw, what was lost."""
    s0, l0 = status(lk), dict(lk.stats)
    c0, d0 = fw.noise.bytes_corrupted, fw.noise.lines_dropped
    fw.inject("serial_noise", p_bit)
    fw.inject("serial_drop", p_drop)
    lost = wrong = 0
    t0 = time.perf_counter()
    for i in range(n):
        try:
            r = lk.command("PING", n=i)
        except LinkError:
            lost += 1
            continue
        if r.int("n", -1) != i:
            wrong += 1  # a damaged frame that passed the CRC
    dt = time.perf_counter() - t0
    fw.inject("serial_noise", 0)
    fw.inject("serial_drop", 0)
    time.sleep(0.2)
    s1 = status(lk)
    d = {k: s1[k] - s0[k] for k in s0}
    d["cmds"] -= 1  # the STATUS itself
    ls = {k: lk.stats[k] - l0[k] for k in ("retries", "bad", "rx_lost")}
    res = {
        "noise_pings": float(n),
        "noise_bytes_corrupted": float(fw.noise.bytes_corrupted - c0),
        "noise_lines_dropped": float(fw.noise.lines_dropped - d0),
        "noise_board_rxerr": float(d["rxerr"]),
        "noise_board_replays": float(d["replays"]),
        "noise_link_retries": float(ls["retries"]),
        "noise_link_bad": float(ls["bad"]),
        "noise_link_rx_gaps": float(ls["rx_lost"]),
        "noise_cmds_per_s": n / dt,
        "frames_lost": float(lost + wrong),
    }
    print(
        f"noise p_bit={p_bit:g}/byte p_drop={p_drop:g}/line, {n} PINGs in {dt:.1f} s: "
        f"line corrupted {res['noise_bytes_corrupted']:.0f} bytes and dropped "
        f"{res['noise_lines_dropped']:.0f} lines; board rxerr {d['rxerr']}, replays "
        f"{d['replays']}, executed {d['cmds']}; link bad {ls['bad']}, retries "
        f"{ls['retries']}, seq gaps {ls['rx_lost']}; lost {lost}, undetected {wrong}"
    )
    return res


def main(argv: list[str] | None = None) -> None:
    """Run the link benchmark; the last line is machine-readable."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer round trips (CI)")
    a = ap.parse_args(argv)
    n_ping = 100 if a.quick else 1500
    n_noise = 60 if a.quick else 600
    tm_s = 0.5 if a.quick else 4.0
    rounds = 2 if a.quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        work = Path(tmp)
        with (
            EmulatedBoard(speed=1, fs_dir=work / "fw", seed=3) as fw,
            null_board(work) as nb,
            Link(fw.url) as fl,
            Link(nb.url) as nl,
        ):
            tap = Tap()
            fl.subscribe("*", tap)
            fl.command("HBTO", ms=60000)
            tp = throughput(fw, fl, nb, nl, n_ping, rounds)
            win = windowed(fl, nl, n_ping * 4, rounds, WINDOW)
            tm = telemetry(fw, fl, tap, tm_s, posed=not a.quick)
            oh = overhead(tap, proto.encode(12345, "PING", {"n": 100}))
            ns = noise(fw, fl, n_noise, 0.002, 0.02)
    u = tp["115200"]
    of_limit = ratio(u["cmds_per_s"], u["line_limit"])
    print(
        f"\nfirmware PING rate (unlimited line): {win['cmds_per_s']:.0f} cmd/s with {WINDOW} in "
        f"flight, {tp['unlimited']['cmds_per_s']:.0f} cmd/s one at a time; "
        f"at 115200 baud {u['cmds_per_s']:.0f} cmd/s = {of_limit:.2f} of the line's limit"
    )
    last = {
        "cmds_per_s": win["cmds_per_s"],
        "line_util_115200": u["line_util"],
        "frames_lost": ns["frames_lost"],
        "cmds_ratio_null": win["ratio_null"],
        "cmds_per_s_window1": tp["unlimited"]["cmds_per_s"],
        "cmds_ratio_null_window1": tp["unlimited"]["ratio_null"],
        "cmds_per_s_115200": u["cmds_per_s"],
        "cmds_per_s_usb": tp["usb_fs"]["cmds_per_s"],
        "tm_share_115200_100hz": tm["tm_share_115200_100hz"],
        "framing_tm": oh.get("framing_tm", 0.0),
    }
    last.update((k, v) for k, v in ns.items() if k.startswith("noise_") and k != "noise_pings")
    sys.stdout.flush()
    print(figures_line(last))


if __name__ == "__main__":
    main()
