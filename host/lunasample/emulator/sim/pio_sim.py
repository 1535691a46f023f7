# Simulated RP2040 PIO for the micropython unix port (imported as `rp2`, see
# rp2.py): the `rp2` module as
# MicroPython's rp2 port provides it (asm_pio, asm_pio_encode, PIO,
# StateMachine). The assembler emits the real 16-bit instruction words
# (RP2040 datasheet 3.4.2-3.4.11); a state machine executes those words one
# PIO cycle at a time, reading and driving pins on simworld's pin bus, so a
# PIO program is tested as the hardware would run it, not re-implemented.
#
# A state machine advances in StateMachine.run(cycles) (sim only) and while
# a get()/put() would block on hardware; in a world set up with
# {"pio_clock": 1} it also runs as virtual time passes, at its clock (freq).
# rp2 is importable only in a world set up with {"pio": 1}: an RP2040 board
# file in the emulator keeps its GPIO HX711 driver and machine.Encoder.
# run() skips what cannot change while the pins and FIFOs stand still: a
# stall (a wait, a blocking pull or push) ends the call, and a
# `jmp x--`/`jmp y--` onto itself counts down in one step.
#
# Supported: jmp (all conditions), wait gpio/pin, in, out (pins, x, y, null,
# pindirs, pc, isr), push/pull (iffull/ifempty, block/noblock), mov (pins, x,
# y, pc, isr, osr; invert, reverse), set, nop, side-set, delays,
# wrap, exec() of any of these. Not simulated: irq, status, exec
# destinations, autopush/autopull, pin directions (the bus has none).
import simworld

_M32 = 0xFFFFFFFF
_SYS_HZ = 125000000  # a state machine without freq= runs at the system clock
_GET_LIMIT = 1000000  # cycles a blocking get()/put() waits before giving up


class PIO:
    IN_LOW = 0
    IN_HIGH = 1
    OUT_LOW = 2
    OUT_HIGH = 3
    SHIFT_LEFT = 0
    SHIFT_RIGHT = 1
    JOIN_NONE = 0
    JOIN_TX = 1
    JOIN_RX = 2

    def __init__(self, id):
        self._id = id
        self._mem = [0] * 32
        self._owner = [None] * 32

    def _load(self, prog):
        """Offset of prog in instruction memory, placing it if needed."""
        n = len(prog.words)
        for off in range(32):
            if self._owner[off] is prog:
                return off
        # Top down, as the pico SDK's allocator places relocatable programs.
        for off in range(32 - n, -1, -1):
            if all(o is None for o in self._owner[off:off + n]):
                for i, w in enumerate(prog.words):
                    if w >> 13 == 0:  # jmp targets are relocated
                        w = (w & ~31) | ((w + off) & 31)
                    self._mem[off + i] = w
                    self._owner[off + i] = prog
                return off
        raise OSError(12)  # ENOMEM, as MicroPython reports a full PIO


_pios = (PIO(0), PIO(1))


class _Program:
    def __init__(self, words, wrap_target, wrap, kw, sideset_count):
        self.words = words
        self.wrap_target = wrap_target
        self.wrap = wrap
        self.sideset_count = sideset_count
        self.in_shiftdir = kw.get("in_shiftdir", PIO.SHIFT_LEFT)
        self.out_shiftdir = kw.get("out_shiftdir", PIO.SHIFT_LEFT)
        self.push_thresh = kw.get("push_thresh", 32)
        self.pull_thresh = kw.get("pull_thresh", 32)
        self.fifo_join = kw.get("fifo_join", PIO.JOIN_NONE)
        self.set_init = _tuple(kw.get("set_init"))
        self.out_init = _tuple(kw.get("out_init"))
        self.sideset_init = _tuple(kw.get("sideset_init"))
        if kw.get("autopush") or kw.get("autopull"):
            raise NotImplementedError("rp2 sim: autopush/autopull")


def _tuple(v):
    if v is None:
        return ()
    return v if isinstance(v, tuple) else (v,)


# Operand fields (datasheet 3.4). Operands are names in the program's
# globals; invert()/reverse() mark a mov source with the operation bits.
_COND = {"not_x": 1, "x_dec": 2, "not_y": 3, "y_dec": 4, "x_not_y": 5, "pin": 6,
         "not_osre": 7}
_WAIT_SRC = {"gpio": 0, "pin": 1}
_IN_SRC = {"pins": 0, "x": 1, "y": 2, "null": 3, "isr": 6, "osr": 7}
_OUT_DST = {"pins": 0, "x": 1, "y": 2, "null": 3, "pindirs": 4, "pc": 5, "isr": 6}
_MOV_DST = {"pins": 0, "x": 1, "y": 2, "pc": 5, "isr": 6, "osr": 7}
_MOV_SRC = {"pins": 0, "x": 1, "y": 2, "null": 3, "isr": 6, "osr": 7}
_SET_DST = {"pins": 0, "x": 1, "y": 2, "pindirs": 4}
_NAMES = ("not_x", "x_dec", "not_y", "y_dec", "x_not_y", "pin", "not_osre", "gpio", "pins",
          "x", "y", "null", "isr", "osr", "pindirs", "pc", "block", "noblock", "iffull",
          "ifempty")


class _Asm:
    def __init__(self, sideset_count, sideset_opt):
        self._ss = sideset_count
        self._opt = 1 if sideset_opt else 0
        self._dbits = 5 - sideset_count - self._opt
        if self._dbits < 0:
            raise ValueError("too many side-set bits")
        self.labels = {}
        self.words = []
        self.target = 0  # wrap target
        self.last = -1  # wrap source
        self._pass = 0

    def globals(self):
        g = {n: n for n in _NAMES}
        for n in ("label", "wrap_target", "wrap", "word", "jmp", "wait", "in_", "out", "push",
                  "pull", "mov", "set", "nop"):
            g[n] = getattr(self, n)
        g["invert"] = lambda s: (1, s)
        g["reverse"] = lambda s: (2, s)
        return g

    def start_pass(self, p):
        self._pass = p
        self.words = []

    def label(self, name):
        if self._pass == 0:
            if name in self.labels:
                raise SyntaxError("duplicate label " + name)
            self.labels[name] = len(self.words)

    def wrap_target(self):
        self.target = len(self.words)

    def wrap(self):
        self.last = len(self.words) - 1

    def word(self, w):
        self.words.append(w & 0xFFFF)
        return self

    def side(self, v):
        if not self._ss or v >> self._ss:
            raise ValueError("side-set value")
        field = v << self._dbits
        if self._opt:
            field |= 1 << 4
        self.words[-1] |= field << 8
        return self

    def __getitem__(self, delay):
        if delay < 0 or delay >> self._dbits:
            raise ValueError("delay out of range")
        self.words[-1] |= delay << 8
        return self

    def _addr(self, label):
        if isinstance(label, int):
            return label & 31
        if self._pass == 0:
            return 0
        return self.labels[label]

    def jmp(self, cond, label=None):
        if label is None:
            return self.word(self._addr(cond))
        return self.word(_COND[cond] << 5 | self._addr(label))

    def wait(self, polarity, src, index):
        return self.word(0x2000 | (polarity & 1) << 7 | _WAIT_SRC[src] << 5 | index & 31)

    def in_(self, src, bits):
        return self.word(0x4000 | _IN_SRC[src] << 5 | bits & 31)

    def out(self, dst, bits):
        return self.word(0x6000 | _OUT_DST[dst] << 5 | bits & 31)

    def push(self, a="block", b="block"):
        f = 0x20 if "noblock" not in (a, b) else 0
        if "iffull" in (a, b):
            f |= 0x40
        return self.word(0x8000 | f)

    def pull(self, a="block", b="block"):
        f = 0x20 if "noblock" not in (a, b) else 0
        if "ifempty" in (a, b):
            f |= 0x40
        return self.word(0x8080 | f)

    def mov(self, dst, src):
        op, src = src if isinstance(src, tuple) else (0, src)
        return self.word(0xA000 | _MOV_DST[dst] << 5 | op << 3 | _MOV_SRC[src])

    def set(self, dst, data):
        return self.word(0xE000 | _SET_DST[dst] << 5 | data & 31)

    def nop(self):
        return self.mov("y", "y")


def asm_pio(**kw):
    """Decorator: assemble the function body into a program (two passes, the
    first collecting labels), running it with the instruction names as its
    globals as MicroPython's rp2 does."""
    ss = len(_tuple(kw.get("sideset_init")))

    def dec(f):
        a = _Asm(ss, False)
        g = f.__globals__
        saved = dict(g)
        g.clear()
        g.update(a.globals())
        try:
            for p in (0, 1):
                a.start_pass(p)
                f()
        finally:
            g.clear()
            g.update(saved)
        wrap = a.last if a.last >= 0 else len(a.words) - 1
        return _Program(a.words, a.target, wrap, kw, ss)

    return dec


def asm_pio_encode(instr, sideset_count, sideset_opt=False):
    """The 16-bit word of one instruction given as source text."""
    a = _Asm(sideset_count, sideset_opt)
    a.start_pass(1)
    exec(instr, a.globals())
    if len(a.words) != 1:
        raise ValueError("expected one instruction")
    return a.words[0]


class _Fifo:
    # Preallocated ring: pushing and popping never allocate (heap_lock tests).
    def __init__(self):
        self.buf = [0] * 8
        self.depth = 4
        self.head = 0
        self.n = 0

    def clear(self, depth):
        self.depth = depth
        self.head = 0
        self.n = 0

    def put(self, v):
        self.buf[(self.head + self.n) & 7] = v
        self.n += 1

    def take(self):
        v = self.buf[self.head]
        self.head = (self.head + 1) & 7
        self.n -= 1
        return v


def _check_buffer(buf, codes):
    # rp2_pio.c: get() fills arrays of b, h or i; put() sends bytes,
    # bytearrays and arrays of B, H or I. A board raises on any other
    # buffer, so the sim does. (Under heap_lock the array's type cannot be
    # read without allocating: such a call is let through.)
    t = type(buf)
    if t is bytes or t is bytearray:
        if "B" in codes:
            return
    else:
        try:
            r = repr(buf)
        except MemoryError:
            return
        if r.startswith("array('") and r[7] in codes:
            return
    raise ValueError("unsupported buffer type")


def _pin_no(p):
    return p if isinstance(p, int) else p.id()


class _StateMachine:
    def __init__(self, id):
        self._id = id
        self._pio = _pios[id >> 2]
        self._rx = _Fifo()
        self._tx = _Fifo()
        self._prog = None
        self._active = False
        self.x = 0
        self.y = 0
        self.pc = 0
        self.restart()

    def init(self, program, freq=-1, *, in_base=None, out_base=None, set_base=None,
             jmp_pin=None, sideset_base=None, in_shiftdir=None, out_shiftdir=None,
             push_thresh=None, pull_thresh=None):
        self.active(0)
        self._freq = _SYS_HZ if freq <= 0 else freq
        self._frac = 0
        p = program
        off = self._pio._load(p)
        self._prog = p
        self._in_base = _pin_no(in_base) if in_base is not None else 0
        self._out_base = _pin_no(out_base) if out_base is not None else 0
        self._set_base = _pin_no(set_base) if set_base is not None else 0
        self._ss_base = _pin_no(sideset_base) if sideset_base is not None else 0
        self._jmp_pin = _pin_no(jmp_pin) if jmp_pin is not None else 0
        self._out_count = len(p.out_init) or 32
        self._set_count = len(p.set_init) or 5
        self._in_left = (p.in_shiftdir if in_shiftdir is None else in_shiftdir) == 0
        self._out_left = (p.out_shiftdir if out_shiftdir is None else out_shiftdir) == 0
        self._push_thresh = p.push_thresh if push_thresh is None else push_thresh
        self._pull_thresh = p.pull_thresh if pull_thresh is None else pull_thresh
        self._wrap_target = p.wrap_target + off
        self._wrap = p.wrap + off
        self._ss_n = p.sideset_count
        self._dmask = (1 << (5 - self._ss_n)) - 1
        self._rx.clear(8 if p.fifo_join == PIO.JOIN_RX else 0 if p.fifo_join == PIO.JOIN_TX else 4)
        self._tx.clear(8 if p.fifo_join == PIO.JOIN_TX else 0 if p.fifo_join == PIO.JOIN_RX else 4)
        for base, levels in ((self._ss_base, p.sideset_init), (self._out_base, p.out_init),
                             (self._set_base, p.set_init)):
            for i, lv in enumerate(levels):
                if lv >= PIO.OUT_LOW:
                    simworld.pin_fn[base + i] = self._id >> 2  # pio_gpio_init
                    simworld.pin_write(base + i, lv - PIO.OUT_LOW)
        self.restart()
        self.pc = off

    def restart(self):
        self.isr = 0
        self._isr_n = 0
        self.osr = 0
        self._osr_n = 32  # empty
        self._delay = 0
        self._latched = -1

    def active(self, v=None):
        if v is not None:
            self._active = bool(v)
            if simworld.config.get("pio_clock"):
                if self._active:
                    simworld.add_clocked(self)
                else:
                    simworld.remove_clocked(self)
        return self._active

    def clock(self, us):
        """Virtual time passing (a {"pio_clock": 1} world): us microseconds
        of cycles at this machine's clock."""
        c = us * self._freq + self._frac
        self._frac = c % 1000000
        self.run(c // 1000000)

    def exec(self, instr):
        if not isinstance(instr, int):
            instr = asm_pio_encode(instr, self._ss_n)
        # Runs at once, even while inactive; one that stalls stays latched.
        self._side_set(instr)
        nxt = self._execute(instr)
        if nxt == -2:
            self._latched = instr
        elif nxt >= 0:
            self.pc = nxt

    def rx_fifo(self):
        return self._rx.n

    def tx_fifo(self):
        return self._tx.n

    def get(self, buf=None, shift=0):
        if buf is not None:
            _check_buffer(buf, "bhi")
        n = 1 if buf is None else len(buf)
        for i in range(n):
            self._block_until(self._rx, True)
            v = self._rx.take() >> shift
            if buf is None:
                return v
            buf[i] = v
        return buf

    def put(self, value, shift=0):
        if isinstance(value, int):
            self._block_until(self._tx, False)
            self._tx.put((value << shift) & _M32)
            return
        _check_buffer(value, "BHI")
        for i in range(len(value)):  # indexed: no iterator object (heap_lock tests)
            self._block_until(self._tx, False)
            self._tx.put((value[i] << shift) & _M32)

    def _block_until(self, fifo, want_data):
        # The CPU would stall here while the state machine runs on.
        n = 0
        while (fifo.n == 0) if want_data else (fifo.n >= fifo.depth):
            if not self._active or n >= _GET_LIMIT:
                raise RuntimeError("rp2 sim: FIFO wait would never end")
            self._cycle()
            n += 1

    def run(self, cycles):
        """Sim only: let `cycles` PIO clock cycles pass (none while inactive)."""
        if not self._active:
            return
        mem = self._pio._mem
        n = cycles
        while n > 0:
            d = self._delay
            if d:
                d = d if d < n else n
                self._delay -= d
                n -= d
                continue
            if self._latched < 0:
                w = mem[self.pc]
                if w >> 13 == 0 and w & 31 == self.pc and not (w >> 8) & self._dmask:
                    # A count-down onto itself: all but its last pass at once.
                    a = (w >> 5) & 7
                    r = self.x if a == 2 else self.y if a == 4 else 0
                    k = r if r < n else n - 1
                    if k > 0:
                        self._side_set(w)
                        if a == 2:
                            self.x -= k
                        else:
                            self.y -= k
                        n -= k
                        continue
            if self._cycle():
                return  # stalled: nothing changes until the pins or FIFOs do
            n -= 1

    # --- the interpreter: one PIO clock cycle per call ---

    def _cycle(self):
        """One cycle; True when the instruction stalled (retried next cycle)."""
        if self._delay:
            self._delay -= 1
            return False
        latched = self._latched >= 0
        w = self._latched if latched else self._pio._mem[self.pc]
        self._side_set(w)
        nxt = self._execute(w)
        if nxt == -2:
            return True
        if latched:
            self._latched = -1
            if nxt >= 0:
                self.pc = nxt
            return False
        if nxt >= 0:
            self.pc = nxt
        elif self.pc == self._wrap:
            self.pc = self._wrap_target
        else:
            self.pc = (self.pc + 1) & 31
        self._delay = (w >> 8) & self._dmask
        return False

    def _side_set(self, w):
        n = self._ss_n
        if not n:
            return
        v = ((w >> 8) & 31) >> (5 - n)
        for i in range(n):
            self._drive(self._ss_base + i, (v >> i) & 1)

    def _pins(self, base, n):
        v = 0
        for i in range(n):
            v |= (simworld.pin_read((base + i) & 31) & 1) << i
        return v

    def _write_pins(self, base, n, v):
        for i in range(n):
            self._drive(base + i, (v >> i) & 1)

    def _drive(self, pin, level):
        # Only a pad given to this PIO follows it.
        if simworld.pin_fn.get(pin) == self._id >> 2:
            simworld.pin_write(pin, level)

    def _execute(self, w):
        """Next pc for a jump, -1 to fall through, -2 when stalled."""
        op = w >> 13
        a = (w >> 5) & 7
        b = w & 31
        if op == 0:  # JMP
            if a == 0:
                take = True
            elif a == 1:
                take = self.x == 0
            elif a == 2:
                take = self.x != 0
                self.x = (self.x - 1) & _M32
            elif a == 3:
                take = self.y == 0
            elif a == 4:
                take = self.y != 0
                self.y = (self.y - 1) & _M32
            elif a == 5:
                take = self.x != self.y
            elif a == 6:
                take = simworld.pin_read(self._jmp_pin) != 0
            else:
                take = self._osr_n < self._pull_thresh
            return b if take else -1
        if op == 1:  # WAIT
            pol = (w >> 7) & 1
            src = a & 3
            if src == 0:
                level = simworld.pin_read(b)
            elif src == 1:
                level = simworld.pin_read((self._in_base + b) & 31)
            else:
                raise NotImplementedError("rp2 sim: wait irq")
            return -1 if (1 if level else 0) == pol else -2
        if op == 2:  # IN
            n = b or 32
            mask = _M32 >> (32 - n)
            if a == 0:
                v = self._pins(self._in_base, n)
            else:
                v = self._reg(a) & mask
            if self._in_left:
                self.isr = ((self.isr << n) | v) & _M32
            else:
                self.isr = (self.isr >> n) | ((v << (32 - n)) & _M32)
            self._isr_n = min(32, self._isr_n + n)
            return -1
        if op == 3:  # OUT
            n = b or 32
            if self._out_left:
                v = self.osr >> (32 - n)
                self.osr = (self.osr << n) & _M32
            else:
                v = self.osr & (_M32 >> (32 - n))
                self.osr >>= n
            self._osr_n = min(32, self._osr_n + n)
            if a == 3 or a == 4:
                return -1  # null; pindirs (the bus has no directions)
            if a == 7:
                raise NotImplementedError("rp2 sim: out exec")
            return self._dest(a, v, n, n)
        if op == 4:  # PUSH / PULL
            cond = w & 0x40
            block = w & 0x20
            if not w & 0x80:
                if cond and self._isr_n < self._push_thresh:
                    return -1
                if self._rx.n >= self._rx.depth:
                    if block:
                        return -2
                else:
                    self._rx.put(self.isr)
                self.isr = 0  # cleared even when a noblock push is dropped
                self._isr_n = 0
                return -1
            if cond and self._osr_n < self._pull_thresh:
                return -1
            if self._tx.n == 0:
                if block:
                    return -2
                self.osr = self.x  # a noblock pull on an empty FIFO copies X
            else:
                self.osr = self._tx.take()
            self._osr_n = 0
            return -1
        if op == 5:  # MOV
            src = w & 7
            v = self._pins(self._in_base, 32) if src == 0 else self._reg(src)
            mop = (w >> 3) & 3
            if mop == 1:
                v = ~v & _M32
            elif mop == 2:
                r = 0
                for _ in range(32):
                    r = (r << 1) | (v & 1)
                    v >>= 1
                v = r
            if a == 3 or a == 4:
                raise NotImplementedError("rp2 sim: mov exec")
            return self._dest(a, v, self._out_count, 0)
        if op == 7:  # SET
            if a == 0:
                self._write_pins(self._set_base, self._set_count, b)
            elif a == 1:
                self.x = b
            elif a == 2:
                self.y = b
            return -1
        raise NotImplementedError("rp2 sim: irq")

    def _dest(self, a, v, npins, isr_n):
        # The destinations OUT and MOV share: pins, X, Y, PC (returned as the
        # jump target), ISR (with its shift count), OSR (MOV only).
        if a == 0:
            self._write_pins(self._out_base, npins, v)
        elif a == 1:
            self.x = v
        elif a == 2:
            self.y = v
        elif a == 5:
            return v & 31
        elif a == 6:
            self.isr = v
            self._isr_n = isr_n
        else:
            self.osr = v
            self._osr_n = 0
        return -1

    def _reg(self, code):
        if code == 1:
            return self.x
        if code == 2:
            return self.y
        if code == 6:
            return self.isr
        if code == 7:
            return self.osr
        return 0  # null


_sms = [_StateMachine(i) for i in range(8)]


def StateMachine(id, program=None, *args, **kw):
    """The state machine `id` (0-3 on PIO0, 4-7 on PIO1), initialised with
    `program` when given; the same object for the same id, as on the chip."""
    sm = _sms[id]
    if program is not None:
        sm.init(program, *args, **kw)
    return sm
