# Firmware side of the serial link: frames in, command dispatch with a
# reply cache (a retried command is answered, never executed twice),
# heartbeat both ways with link-loss failsafe, telemetry and events out.
import array
import time

from micropython import const

from sampler import proto
from sampler import safety as S

_CACHE = const(8)
_RX_BUDGET = const(64)  # bytes read per tick, so a flood cannot stall control
_HB_PERIOD_MS = const(1000)
# Telemetry fills the slack of the loop's ticks: on an RP2040 a field costs
# ~0.13 ms, and a source's five at once would push a tick past its period.
# It is built while a tick is within _TM_PCT % of its period; the heartbeat
# (~0.7 ms there) waits for a tick within _HB_PCT % when it comes due, at
# most _HB_LATE_MS.
# Without the tick's start, service() gives telemetry _TM_BUDGET_US.
_TM_PCT = const(50)
_HB_PCT = const(20)
_HB_LATE_MS = const(100)
_TM_BUDGET_US = const(250)

ACCEPTED = "accepted"  # a handler's return value for long-running commands


class CmdError(Exception):
    """Raised by a command handler: CmdError(proto.E_..., "short text")."""


class Comms:
    def __init__(self, console, safety):
        self._con = console
        self._safety = safety
        self._reader = proto.LineReader()
        # Frames are built in these and written from them: the console takes
        # the bytes before write() returns. Telemetry has its own, as it is
        # built over several ticks with other frames sent in between; _tm_s
        # is its state: the source being added (-1: none being built; past
        # the last: the seal is due), the frame's end, the end of its head
        # ('TM,t=<ms>'), the next of the source's fields in _tm_f (-1: the
        # source is still to be called).
        self._tx = memoryview(bytearray(proto.FRAME_BUF))
        self._tm = memoryview(bytearray(proto.FRAME_BUF))
        self._tm_s = array.array("i", (-1, 0, 0, 0))
        self._tm_f = []
        self.handlers = {}
        self.tm_sources = []  # callables appending (key, value) pairs
        # The reply cache: the commands' seqs in _c_key[i], their CRCs in
        # _c_key[_CACHE + i], the replies in _c_reply[i].
        self._c_key = array.array("i", [-1] * _CACHE + [0] * _CACHE)
        self._c_reply = [None] * _CACHE
        self._c_next = 0
        self.tx_seq = 0
        self.sid = None  # the host's session, from its HELLO
        self.lost = False
        self.hb_timeout_ms = 5000
        self.tm_period_ms = 0
        self._last_rx = 0
        self._next_hb = 0
        self._next_tm = 0
        self.rx_errors = 0
        self.replays = 0
        self.executed = 0

    def register(self, name, fn):
        """fn(seq, fields) -> dict of result fields, ACCEPTED, or raise CmdError."""
        self.handlers[name] = fn

    # -- sending -------------------------------------------------------
    def send(self, mtype, fields=None):
        start, end = proto.encode_into(self._tx, self.tx_seq, mtype, fields)
        self._con.write(self._tx[start:end])
        self.tx_seq = (self.tx_seq + 1) % proto.SEQ_MOD

    def _reply(self, seq, crc, mtype, fields):
        self.send(mtype, fields)
        for i in range(_CACHE):
            if self._c_key[i] == seq and self._c_key[_CACHE + i] == crc:
                self._c_reply[i] = (mtype, fields)
                return
        i = self._c_next
        self._c_key[i] = seq
        self._c_key[_CACHE + i] = crc
        self._c_reply[i] = (mtype, fields)
        self._c_next = (i + 1) % _CACHE

    def _nak(self, seq, crc, code, text):
        self._reply(seq, crc, "NAK", (("re", seq), ("err", code), ("msg", proto.clean(text))))

    def _update_cache(self, seq, mtype, fields):
        for i in range(_CACHE):
            if self._c_key[i] == seq:
                self._c_reply[i] = (mtype, fields)

    def done(self, seq, result=None):
        """Finish an ACCEPTED command successfully."""
        f = [("re", seq), ("ok", 1)]
        if result:
            f.extend(result.items() if isinstance(result, dict) else result)
        self.send("DONE", f)
        self._update_cache(seq, "DONE", f)

    def failed(self, seq, code, text):
        """Finish an ACCEPTED command with an error code."""
        f = [("re", seq), ("ok", 0), ("err", code), ("msg", proto.clean(text))]
        self.send("DONE", f)
        self._update_cache(seq, "DONE", f)

    def event(self, fields):
        self.send("EV", fields)

    # -- receiving -----------------------------------------------------
    def service(self, now_ms, t0_us=None, period_us=0):
        """Called once per loop tick outside the control step: the link,
        events, the heartbeat and telemetry, the last two in the slack of
        the tick that started at t0_us (ticks_us) and lasts period_us."""
        con = self._con
        rd = self._reader
        n = _RX_BUDGET
        while n:
            c = con.read()
            if c < 0:
                break
            line = rd.feed(c)
            if line is not None:
                self._line(line, now_ms)
                break
            n -= 1
        ev = self._safety.pop_event()
        if ev is not None:
            self._send_event(ev, now_ms)
        if self.sid is not None and not self.lost:
            if time.ticks_diff(now_ms, self._last_rx) > self.hb_timeout_ms:
                self.lost = True
                self._safety.link_lost()
        late = time.ticks_diff(now_ms, self._next_hb)
        if late >= 0 and (t0_us is None or late >= _HB_LATE_MS
                          or time.ticks_diff(time.ticks_us(), t0_us) < period_us * _HB_PCT // 100):
            self._next_hb = time.ticks_add(now_ms, _HB_PERIOD_MS)
            self.send("HB", (("st", S.STATE_NAMES[self._safety.state]), ("up", now_ms)))
        t = time.ticks_us()
        if t0_us is None:
            until = time.ticks_add(t, _TM_BUDGET_US)
        else:
            until = time.ticks_add(t0_us, period_us * _TM_PCT // 100)
            if time.ticks_diff(until, t) <= 0:
                return  # no slack left in this tick
        if self._tm_s[0] >= 0:
            self._tm_step(until)
        elif self.tm_period_ms and time.ticks_diff(now_ms, self._next_tm) >= 0:
            self._next_tm = time.ticks_add(now_ms, self.tm_period_ms)
            self._tm_begin(now_ms)

    # -- telemetry, in the ticks' slack ----------------------------------
    # A whole sample at once would hold up the loop for several periods on
    # a board (a frame's worth of fields): a tick adds the fields of one
    # source that fit in its slack, and seals the frame on a tick of its
    # own if the last fields used that up. Telemetry grows with every
    # subsystem: rather than exceed MAX_FRAME it goes out as several
    # frames, each led by the same time.
    def _tm_begin(self, now_ms):
        buf = self._tm
        n = proto.frame_add(buf, proto.frame_open(buf, "TM"), "t", now_ms)
        st = self._tm_s
        st[1] = st[2] = n
        st[3] = -1
        if self.tm_sources:
            st[0] = 0
        else:
            self._tm_seal(n)

    def _tm_step(self, until_us):
        st = self._tm_s
        i = st[0]
        st[0] = -1  # a source or a field that raises ends this sample
        if i == len(self.tm_sources):
            self._tm_seal(st[1])
            return
        f = self._tm_f
        j = st[3]
        t = time.ticks_us()
        if j < 0:
            f.clear()
            self.tm_sources[i](f)
            j = 0
            t1 = time.ticks_us()
            if time.ticks_diff(until_us, t1) < time.ticks_diff(t1, t):
                st[3] = 0  # the fields next tick
                st[0] = i
                return
            t = t1
        buf = self._tm
        n = st[1]
        while j < len(f):
            kv = f[j]
            m = proto.frame_add(buf, n, kv[0], kv[1])
            if m < 0 and n > st[2]:
                self._tm_seal(n)
                n = st[2]  # the head is still in place: the next frame's
                m = proto.frame_add(buf, n, kv[0], kv[1])
            if m < 0:
                raise ValueError("telemetry field %s does not fit in a frame" % kv[0])
            n = m
            j += 1
            t1 = time.ticks_us()
            if time.ticks_diff(until_us, t1) < time.ticks_diff(t1, t):
                break  # another field like this one would pass the deadline
            t = t1
        st[1] = n
        if j < len(f):
            st[3] = j  # the rest of this source's fields next tick
            st[0] = i
            return
        st[3] = -1
        if i + 1 < len(self.tm_sources) or time.ticks_diff(until_us, time.ticks_us()) <= 0:
            st[0] = i + 1  # the next source, or the seal on the next tick
        else:
            self._tm_seal(n)

    def _tm_seal(self, n):
        start = proto.frame_seal(self._tm, n, self.tx_seq)
        self._con.write(self._tm[start:n + 6])
        self.tx_seq = (self.tx_seq + 1) % proto.SEQ_MOD

    def _send_event(self, ev, now_ms):
        kind, value = ev
        if kind == 1:
            self.event((("kind", "state"), ("st", S.STATE_NAMES[value]), ("t", now_ms)))
        else:
            self.event((("kind", "fault"), ("code", value), ("name", S.FAULT_NAMES[value]),
                        ("t", now_ms)))

    def _line(self, line, now_ms):
        if not line:
            self.rx_errors += 1
            self.send("NAK", (("err", proto.E_TOO_LONG), ("msg", "frame too long")))
            return
        try:
            seq, mtype, fields = proto.decode(line)
        except proto.FrameError as e:
            self.rx_errors += 1
            if line[0] == 36:  # '$': a damaged frame, not REPL noise
                f = [("err", e.args[0]), ("msg", proto.clean(e.args[1]))]
                if e.args[2] >= 0:
                    f.insert(0, ("re", e.args[2]))
                self.send("NAK", f)
            return
        self._last_rx = now_ms
        if self.lost:
            self.lost = False
            self.event((("kind", "link"), ("st", "restored"),
                        ("why", S.REASON_NAMES[self._safety.reason])))
        if mtype == "HB":
            return
        crc = proto.crc16(line, 1, len(line) - 5)
        for i in range(_CACHE):
            if self._c_key[i] == seq and self._c_key[_CACHE + i] == crc:
                self.replays += 1
                mt, f = self._c_reply[i]
                self.send(mt, f)
                return
        fn = self.handlers.get(mtype)
        if fn is None:
            self._nak(seq, crc, proto.E_UNKNOWN_CMD, "unknown command " + mtype)
            return
        self.executed += 1
        try:
            r = fn(seq, fields)
        except (CmdError, proto.FrameError) as e:
            self._nak(seq, crc, e.args[0], e.args[1])
            return
        except Exception as e:  # a bug in a handler must not stop the loop
            self._nak(seq, crc, proto.E_INTERNAL, type(e).__name__ + " " + str(e))
            return
        if r is ACCEPTED:
            self._reply(seq, crc, "ACK", (("re", seq), ("ack", "acc")))
            return
        f = [("re", seq), ("ack", "done")]
        if r:
            f.extend(r.items() if isinstance(r, dict) else r)
        self._reply(seq, crc, "ACK", f)

    def hello(self, sid):
        """Host session `sid` said HELLO. A new session forgets the replies
        cached for the previous one; the same session (a reconnect after a
        cable pull) keeps them, so its retries are still answered from cache."""
        if sid != self.sid:
            self.sid = sid
            for i in range(_CACHE):
                self._c_key[i] = -1
                self._c_reply[i] = None
