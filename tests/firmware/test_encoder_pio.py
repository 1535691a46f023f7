"""The RP2040 PIO quadrature counter (firmware/sampler/encoder.py), run for
real: its program is assembled to 16-bit PIO words and executed instruction
by instruction by the simulated rp2 module (emulator/sim/rp2.py) in the
micropython unix port, with phases A/B driven on the simulated pin bus."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import run_micropython

# The RP2040 port's machine has no Encoder: remove the simulated one so the
# firmware takes its PIO path, as on a Pico.
PRELUDE = """
import json, micropython, simworld
simworld.setup({"pio": 1})
import machine
del machine.Encoder
import rp2
from sampler import encoder as E
A, B = 18, 19
enc = E.Encoder(A, B)
sm = rp2.StateMachine(4)
GRAY = ((0, 0), (1, 0), (1, 1), (0, 1))  # (A, B): A leads B going forward
pos = 0

def move(d, dwell):
    global pos
    pos += d
    a, b = GRAY[pos % 4]
    simworld.pin_write(A, a)
    simworld.pin_write(B, b)
    sm.run(dwell)
"""

# The firmware's 64K plus room to compile the simulated rp2 module.
HEAP_KB = 256

# Longest pass of the PIO loop, in cycles: an encoder state held this long
# is always sampled (at most one phase change per sample period).
LOOP = 10


def _run(script: str) -> list[str]:
    r = run_micropython(PRELUDE + script, heap_kb=HEAP_KB)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.split()


def _expected(ops: list[tuple[str, int, int]]) -> list[int]:
    true, reads = 0, []
    for kind, d, _ in ops:
        if kind == "m":
            true += d
        elif kind == "z":
            true = 0
        else:
            reads.append(true)
    return reads + [true]


def _pio(ops: list[tuple[str, int, int]]) -> list[int]:
    out = _run(f"""
for kind, d, dwell in json.loads({json.dumps(json.dumps(ops))}):
    if kind == "m":
        move(d, dwell)
    elif kind == "z":
        enc.zero()
    else:
        print(enc.count())
print(enc.count())
""")
    return [int(v) for v in out]


def test_one_revolution_forward_is_cpr_counts_and_back_again() -> None:
    out = _run("""
print(type(enc._enc).__name__, E.CPR)
for _ in range(E.CPR):
    move(1, 12)
print(enc.count())
for _ in range(E.CPR // 2 + 3):
    move(-1, 12)
print(enc.count())
""")
    assert out == ["_PioCounter", "4096", "4096", str(4096 - 2048 - 3)]


def test_zero_then_reverse_reads_negative_counts() -> None:
    ops = [("m", 1, 11)] * 9 + [("z", 0, 0)] + [("m", -1, 13)] * 5 + [("r", 0, 0)]
    assert _pio(ops) == [-5, -5]


STEP = st.tuples(st.just("m"), st.sampled_from([-1, 0, 1]), st.integers(LOOP, 3 * LOOP))
OP = st.one_of(STEP, STEP, STEP, STEP, st.just(("r", 0, 0)), st.just(("z", 0, 0)))


@settings(max_examples=30, deadline=None)
@given(st.lists(OP, max_size=150))
def test_random_walks_count_exactly_x4(ops: list[tuple[str, int, int]]) -> None:
    """Steps forward, back and holds with random dwell (each state held for
    at least one sampling pass), reads and zeroings anywhere in between:
    every read is the true x4 count since the last zero."""
    assert _pio(ops) == _expected(ops)


def test_a_skipped_state_is_not_counted() -> None:
    # Both phases changing at once (0 -> 2 states along the Gray code) is a
    # missed edge: the direction is unknown, so the counter holds.
    out = _run("""
move(1, 12)
pos += 1
move(1, 12)
print(enc.count())
""")
    assert out == ["1"]


def test_read_and_zero_do_not_allocate() -> None:
    out = _run("""
import array
got = array.array("i", [0] * 200)
for i in range(200):
    move(1 if i % 7 else -1, 15)
    micropython.heap_lock()
    got[i] = enc.count()
    if i % 50 == 49:
        enc.zero()
    micropython.heap_unlock()
print(" ".join(str(v) for v in got))
""")
    true, want = 0, []
    for i in range(200):
        true += 1 if i % 7 else -1
        want.append(true)
        if i % 50 == 49:
            true = 0
    assert [int(v) for v in out] == want


def test_driver_choice_keeps_machine_encoder_and_irq_fallback() -> None:
    # With machine.Encoder (emulator, ESP32) it is used even where rp2
    # imports. Without rp2 (the emulator's default world) there is no PIO
    # program and the IRQ counter remains the RP2040 path.
    r = run_micropython(heap_kb=HEAP_KB, script="""
import simworld
simworld.setup({"pio": 1})
from sampler import encoder as E
print(type(E.Encoder(18, 19)._enc).__name__)
""")
    assert r.returncode == 0, r.stderr
    r2 = run_micropython(heap_kb=HEAP_KB, script="""
import simworld
simworld.setup({})
import machine
from sampler import encoder as E
print(E.rp2, hasattr(E, "_quad"), hasattr(E, "_EdgeCounter"))
""")
    assert r2.returncode == 0, r2.stderr
    assert r.stdout.split() + r2.stdout.split() == ["Encoder", "None", "False", "True"]


# Instruction words from the RP2040 datasheet, 3.4 (opcode in bits 15:13,
# delay/side-set in 12:8, operands below).
ENCODINGS = {
    "jmp(x_dec, 5)": 0x0045,
    "jmp(pin, 6)": 0x00C6,
    "jmp(not_osre, 31)": 0x00FF,
    "wait(0, pin, 0)": 0x2020,
    "wait(1, gpio, 5)": 0x2085,
    "in_(pins, 2)": 0x4002,
    "in_(x, 32)": 0x4020,
    "out(isr, 2)": 0x60C2,
    "push(noblock)": 0x8000,
    "push()": 0x8020,
    "push(iffull, block)": 0x8060,
    "pull(block)": 0x80A0,
    "pull(noblock)": 0x8080,
    "mov(isr, x)": 0xA0C1,
    "mov(pc, isr)": 0xA0A6,
    "mov(y, invert(x))": 0xA049,
    "mov(x, reverse(osr))": 0xA037,
    "nop()": 0xA042,
    "set(x, 23)": 0xE037,
    "set(pindirs, 1)": 0xE081,
}


def test_assembler_emits_datasheet_encodings() -> None:
    r = run_micropython(heap_kb=HEAP_KB, script=f"""
import simworld
simworld.setup({{"pio": 1}})
import rp2
for src in {list(ENCODINGS)!r}:
    print(rp2.asm_pio_encode(src, 0))
print(rp2.asm_pio_encode("nop().side(1)[3]", 1))
@rp2.asm_pio(sideset_init=(rp2.PIO.OUT_LOW, rp2.PIO.OUT_LOW))
def prog():
    label("top")
    nop().side(2)
    jmp(x_dec, "top").side(1)[7]
print(prog.words)
""")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [int(v) for v in lines[:-2]] == list(ENCODINGS.values())
    # One side-set bit above 4 delay bits; two above 3.
    assert int(lines[-2]) == 0xA042 | 1 << 12 | 3 << 8
    assert lines[-1] == str([0xA042 | 2 << 11, 0x0040 | 1 << 11 | 7 << 8])


def test_encoder_program_is_the_full_instruction_memory() -> None:
    # mov(pc, isr) jumps to absolute table addresses: the program only
    # works loaded at 0, which filling all 32 words guarantees.
    out = _run("""
print(len(E._quad.words), sm.pc, E._quad.words[0] & 0xE000, E._quad.words[22])
try:
    rp2.StateMachine(5, E._quad)
    print("shared")
    rp2.StateMachine(6, rp2.asm_pio()(lambda: nop()))
except OSError:
    print("full")
""")
    # Not yet stepped: the program counter is still at the load offset.
    assert out == ["32", "0", "0", str(0xA0A6), "shared", "full"]


HX711_DEV = """
import simworld
simworld.setup({"pio": 1})
import rp2
from sampler import hx711_pio
SCK, DOUT = 13, 14

class Chip:
    # HX711 serial interface: DOUT low = ready; each SCK rising edge shifts
    # out the next bit, MSB first; the 25th edge ends the word (DOUT high)
    # and 25/26/27 edges in all select the next gain.
    def __init__(self):
        self.sck = 0
        self.dout = 1
        self.word = 0
        self.edges = 0
        self.last_edges = 0

    def ready(self, code):
        self.word = code & 0xFFFFFF
        self.edges = 0
        self.dout = 0

    def pin_read(self, pin):
        return self.dout

    def pin_write(self, pin, v):
        if pin == SCK and v and not self.sck:
            self.edges += 1
            if self.edges <= 24:
                self.dout = (self.word >> (24 - self.edges)) & 1
            else:
                self.dout = 1
                self.last_edges = self.edges
        if pin == SCK:
            self.sck = v

chip = Chip()
simworld.attach_pin(SCK, chip)
simworld.attach_pin(DOUT, chip)
"""


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(-(1 << 23), (1 << 23) - 1), min_size=2, max_size=4),
       st.sampled_from([128, 64, 32]))
def test_hx711_pio_program_reads_24_bit_words(codes: list[int], gain: int) -> None:
    r = run_micropython(heap_kb=HEAP_KB, script=HX711_DEV + f"""
d = hx711_pio.HX711(SCK, DOUT, gain={gain})
sm = rp2.StateMachine(0)
for code in {codes!r}:
    chip.ready(code)
    sm.run(400)
    print(d.poll(), d.raw, chip.last_edges)
""")
    assert r.returncode == 0, r.stderr
    pulses = {128: 25, 64: 27, 32: 26}[gain]
    assert r.stdout.split() == [w for c in codes for w in ("True", str(c), str(pulses))]
