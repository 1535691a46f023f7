"""The emulated board is as strict as the silicon: each rule of the board
file's chip and drivers, broken on purpose in the micropython unix port
with the simulated machine, is refused (or does what the chip does) and the
message names the rule. The same calls on a chip without the rule pass, so
each test can fail."""

from __future__ import annotations

import json

import pytest

from lunasample.hardware.loader import load_parts
from tests.conftest import run_micropython

PARTS = load_parts()  # boards/parts.json: the rules the emulator applies


def _run(
    mcu: str, body: str, pins: dict[str, int] | None = None, extra: dict[str, object] | None = None
) -> tuple[str, str]:
    cfg = {"mcu": mcu, "pins": pins or {"led": 2}, "parts": PARTS, "speed": 0, "seed": 1}
    cfg.update(extra or {})
    script = (
        f"import json, simworld\nsimworld.setup(json.loads({json.dumps(cfg)!r}))\n"
        "import machine, time\n" + body
    )
    r = run_micropython(script, heap_kb=256)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip(), r.stderr


OUTPUT_ON_34 = """
try:
    machine.Pin(34, machine.Pin.OUT)
    print("accepted")
except ValueError as e:
    print("refused:", e)
"""


def test_esp32_refuses_an_output_on_an_input_only_pin() -> None:
    out, _ = _run("ESP32", OUTPUT_ON_34)
    assert out.startswith("refused: pin can only be input: GPIO34")
    assert "GPIO34-39 are input-only" in out
    out, _ = _run("ESP32", OUTPUT_ON_34.replace("Pin(34", "Pin(8"))
    assert "SPI flash" in out and "GPIO6-11" in out
    # The emulated board plays a Pico's pin-out: no GPIO34 at all, but GPIO21 drives.
    assert _run("unix", OUTPUT_ON_34)[0].startswith("refused: invalid pin: GPIO34")
    assert _run("unix", OUTPUT_ON_34.replace("Pin(34", "Pin(21"))[0] == "accepted"


def test_rp2040_refuses_adc_off_its_adc_pins_and_any_attenuation() -> None:
    body = """
for args in ((5,), (26,)):
    try:
        machine.ADC(machine.Pin(args[0]))
        print("ok", args[0])
    except ValueError as e:
        print("refused:", e)
try:
    machine.ADC(machine.Pin(26), atten=3)
except TypeError as e:
    print("type:", e)
"""
    out, _ = _run("RP2040", body)
    lines = out.splitlines()
    assert lines[0].startswith("refused: Pin doesn't have ADC capabilities: GPIO5")
    assert "GPIO26-29" in lines[0] and lines[1] == "ok 26"
    assert lines[2].startswith("type: unexpected keyword argument 'atten'")


def test_esp32_adc_without_attenuation_clips_where_the_chip_clips() -> None:
    # 2.0 V on the sense input: the port's default 0 dB reads its 950 mV
    # top (parts.json), 11 dB reads the 2 V.
    body = """
simworld.adc_src[35] = lambda: 2000000 * 65535 // 3300000
plain = machine.ADC(machine.Pin(35))
att = machine.ADC(machine.Pin(35), atten=machine.ADC.ATTN_11DB)
print(plain.read_uv(), att.read_uv() // 1000, plain.read_u16())
simworld.advance(2000)  # the note comes at the next plant step
"""
    out, err = _run("ESP32", body, pins={"drill_isense": 35})
    uv, mv, u16 = map(int, out.split())
    assert uv == 950000 and 1990 <= mv <= 2000 and u16 == 65535
    assert "ADC GPIO35 clipped at 950 mV (ESP32 datasheet" in err
    out, _ = _run(
        "RP2040",
        body.replace("(35)", "(26)")
        .replace(", atten=machine.ADC.ATTN_11DB", "")
        .replace("[35]", "[26]"),
        pins={"drill_isense": 26},
    )
    assert 1990000 <= int(out.split()[0]) <= 2000000  # 0-3.3 V: no clip at 2 V


def test_esp32_pins_34_to_39_have_no_pull_and_a_floating_input_reads_noise() -> None:
    body = """
def reads(p):
    return sum(p.value() for _ in range(200))
up = machine.Pin(12, machine.Pin.IN, machine.Pin.PULL_UP)
nopull = machine.Pin(34, machine.Pin.IN, machine.Pin.PULL_UP)  # GPIO34: no pull on the pad
print(reads(up), reads(nopull))
"""
    out, err = _run("ESP32", body)
    high, noisy = map(int, out.split())
    assert high == 200  # pulled up, nothing driving: 1
    assert 40 < noisy < 160  # floating: noise
    assert "GPIO34 has no internal pull" in err and "have no pull-up/pull-down" in err
    assert "GPIO34 floats" in err
    out, _ = _run("RP2040", body)
    assert out.split() == ["200", "200"]  # an RP2040 pad has its pull-up


def test_esp32_pin_irqs_are_soft_only() -> None:
    body = """
p = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_UP)
try:
    p.irq(lambda p: None, machine.Pin.IRQ_RISING, hard=True)
    print("accepted")
except TypeError as e:
    print("refused:", e)
"""
    out, _ = _run("ESP32", body)
    assert out.startswith("refused: unexpected keyword argument 'hard'")
    assert _run("RP2040", body)[0] == "accepted"


STEPS = """
import plant_drill
feed = plant_drill.attach(CFG)
import pads
st = machine.Pin(20, machine.Pin.OUT, value=0)
dr = machine.Pin(21, machine.Pin.OUT, value=1)
time.sleep_us(1000)
def pulse(high_us):
    st.value(1)
    if high_us:
        time.sleep_us(high_us)
    st.value(0)
    time.sleep_us(1000)
pulse(0)            # no width at all
pulse(1)            # 1 us: under a DRV8825's 1.9 us, over a TMC2209's 100 ns
dr.value(0)         # direction flips ...
pulse(2)            # ... and the step comes at once: inside the setup time
dr.value(1)
time.sleep_us(1)
pulse(2)            # 1 us of setup >= 650 ns
print(feed.steps, pads.missed_steps)
for v in pads.violations:
    print(v)
"""


@pytest.mark.parametrize("driver", ["DRV8825", "TMC2209"])
def test_step_pulses_shorter_than_the_drivers_minimum_are_missed_steps(driver: str) -> None:
    pins = {
        "feed_step": 20,
        "feed_dir": 21,
        "feed_home": 15,
        "drill_pwm": 16,
        "drill_dir": 17,
        "drill_isense": 26,
        "drill_enc_a": 18,
    }
    cfg = {"mcu": "RP2040", "pins": pins, "parts": PARTS, "drivers": {"feed": driver}}
    out, _ = _run(
        "RP2040", STEPS.replace("CFG", repr(cfg)), pins=pins, extra={"drivers": {"feed": driver}}
    )
    lines = out.splitlines()
    steps, missed = map(int, lines[0].split())
    if driver == "DRV8825":
        # Only the last pulse meets all three rules.
        assert (steps, missed) == (1, 3)
        assert (
            "feed: STEP high 0 us < 1900 ns (DRV8825 datasheet, timing: minimum STEP high)"
            in lines[1]
        )
        assert "feed: STEP high 1 us < 1900 ns" in lines[2]
        assert "DIR changed 0 us before STEP < 650 ns (DRV8825 datasheet" in lines[3]
    else:
        # A TMC2209 takes 100 ns pulses and 20 ns of setup: the 1 us pulse
        # steps, the zero-width one and the one with no setup do not.
        assert (steps, missed) == (2, 2)
        assert "TMC2209 datasheet, timing: minimum STEP high" in lines[1]
        assert "TMC2209 datasheet, timing: DIR setup" in lines[2]


def test_hx711_sck_held_high_over_60_us_powers_it_down() -> None:
    body = """
import plant_loadcell
dev = plant_loadcell.attach(CFG)
sck = machine.Pin(13, machine.Pin.OUT, value=0)
dout = machine.Pin(14, machine.Pin.IN)
time.sleep_ms(600)
ready_before = dout.value() == 0
sck.value(1)
time.sleep_us(100)   # > 60 us
sck.value(0)
ready_after = dout.value() == 0
t = 0
while dout.value() and t < 2000:
    time.sleep_ms(1)
    t += 1
print(ready_before, ready_after, dev.power_downs, t)
"""
    pins = {"hx711_sck": 13, "hx711_dout": 14}
    cfg = {"pins": pins, "seed": 1, "plant": {"hx711_sps": 80}}
    out, err = _run("RP2040", body.replace("CFG", repr(cfg)), pins=pins)
    before, after, downs, settle_ms = out.split()
    assert before == "True" and after == "False" and downs == "1"
    assert int(settle_ms) >= 40  # reset, then its settling conversions (4 at 80 SPS)
    assert "HX711 SCK high 100 us > 60 us: powered down (HX711 datasheet" in err
    # Held for 50 us it stays up, its reading waiting.
    out, err = _run(
        "RP2040",
        body.replace("CFG", repr(cfg)).replace("sleep_us(100)", "sleep_us(50)"),
        pins=pins,
    )
    assert out.split()[:3] == ["True", "True", "0"] and "powered down" not in err
