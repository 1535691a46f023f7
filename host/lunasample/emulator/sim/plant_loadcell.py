# Emulated load cell under the sample container, read by an HX711.
#
# Two parts:
#   Bridge  - the analog side: what the HX711 converts over one conversion
#             window (container contents + tare + reference weights on the
#             pan, creep, temperature drift, drill vibration and percussion
#             impacts, input noise), returned as a 24-bit code. It needs no
#             simulated world, so benchmarks can drive it directly.
#   HX711   - the chip protocol on the board's pins: DOUT low when a
#             conversion is ready (10 or 80 SPS), one bit per SCK rising
#             edge, 25/26/27 pulses select A128/B32/A64 for the next
#             conversion, SCK high > 60 us powers the chip down.
# Fault switches: hx711_timeout (DOUT stays high), hx711_stuck (the same
# code forever), hx711_disconnect (its DOUT wire cut: the input floats).
#
# Sensitivity: a 2 mV/V cell of `cell_cap_g` capacity; at gain 128 the HX711
# spans +-0.5*AVDD/128 over +-2^23 codes, so codes per gram is
# 2e-3 * 2 * 128 * 2^23 / cap_g, independent of AVDD (859 codes/g at 5 kg).
# Gravity: the cell measures force. Masses on the pan (tare, contents,
# reference weights) weigh mass x gravity_m_s2 / g0 grams-force, a sixth on
# the Moon; vibration, impacts, drift and noise are forces and do not scale.
import math
import random

NAME = "loadcell"
_FULL = 1 << 23
_CODES_G_128 = 2e-3 * 2 * 128 * _FULL  # codes per gram at gain 128, x cap_g
_PD_US = 60  # SCK high longer than this powers the chip down
_SETTLE_CONV = 4  # conversions discarded by the chip after power-up (400 ms at 10 SPS)

_DEFAULTS = {
    "hx711_sps": 80,  # RATE pin: 10 (low) or 80 (high) samples/s; the firmware is tuned for 80
    "cell_cap_g": 5000.0,
    "tare_g": 250.0,  # pan + empty container
    "extra_g": 0.0,  # reference weights placed on the pan by a test or rig procedure
    "offset_uv": 300.0,  # bridge zero imbalance at the cell output
    "noise_nv": 50.0,  # input-referred rms at 10 SPS (datasheet; x1.8 at 80 SPS)
    "creep_frac": 0.0003,  # creep reaches this fraction of the load...
    "creep_tau_s": 600.0,  # ...with this time constant
    "drift_g_h": 0.5,  # temperature zero drift, grams per hour
    "drill_rpm": 0.0,  # drill speed when plant_drill is not loaded
    "vib_g": 30.0,  # vibration amplitude at the pan per 1000 rpm, grams
    "hit_hz": 1.0,  # percussion impacts reaching the pan per second per 1000 rpm
    "hit_gs": 2.0,  # impulse of one impact, gram-seconds
    "gravity_m_s2": 9.80665,  # local gravity: 1.62 on the Moon
}
_G0 = 9.80665


def _gauss(rng):
    u = rng.random()
    while u <= 0.0:
        u = rng.random()
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * rng.random())


class Bridge:
    def __init__(self, params=None, seed=0, arm=None, drill=None):
        self.p = dict(_DEFAULTS)
        if params:
            self.configure(params)
        self.rng = random
        # MicroPython's generator gives near-equal first draws for nearby
        # seeds: spread them first.
        random.seed((seed * 2654435761 + 40503) & 0x3FFFFFFF)
        random.random()
        self.arm = arm  # modules exposing container_g (and speed_rpm for the drill)
        self.drill = drill
        self.t_s = 0.0
        self.creep_g = 0.0
        self.phase = self.rng.random() * 6.2832
        self.stuck_code = None

    def configure(self, params):
        for k in _DEFAULTS:
            if k in params:
                self.p[k] = params[k]

    def contents_g(self):
        """Mass on the pan above the container tare: samples plus reference weights."""
        g = float(self.p["extra_g"])
        for m in (self.arm, self.drill):
            if m is not None:
                g += float(getattr(m, "container_g", 0.0))
        return g

    def rpm(self):
        if self.drill is not None and hasattr(self.drill, "speed_rpm"):
            return abs(float(self.drill.speed_rpm))
        return abs(float(self.p["drill_rpm"]))

    def convert(self, window_s, gain=128, sps=10):
        """Advance by one conversion window and return its 24-bit code (signed)."""
        p = self.p
        t0 = self.t_s
        t1 = t0 + window_s
        self.t_s = t1
        load = (self.contents_g() + p["tare_g"]) * (p["gravity_m_s2"] / _G0)
        # First-order creep toward a fraction of the present load.
        a = 1.0 - math.exp(-window_s / p["creep_tau_s"])
        self.creep_g += (p["creep_frac"] * load - self.creep_g) * a
        g = load + self.creep_g + p["drift_g_h"] * t1 / 3600.0
        rpm = self.rpm()
        if rpm > 0.0:
            # The sigma-delta integrates over the window: the mean of the
            # sinusoid over [t0, t1] in closed form.
            amp = p["vib_g"] * rpm / 1000.0
            w = 2.0 * math.pi * rpm / 60.0
            ph = self.phase
            g += amp * (math.cos(w * t0 + ph) - math.cos(w * t1 + ph)) / (w * window_s)
            lam = p["hit_hz"] * rpm / 1000.0 * window_s
            # Impacts in this window: Poisson(lam) by inversion (lam is small).
            u = self.rng.random()
            k = 0
            term = math.exp(-lam)
            acc = term
            while u > acc and k < 20:
                k += 1
                term *= lam / k
                acc += term
            for _ in range(k):
                g += p["hit_gs"] * (0.5 + self.rng.random()) / window_s
        scale = _CODES_G_128 / p["cell_cap_g"] * gain / 128.0
        codes_per_uv = scale * p["cell_cap_g"] / 10000.0  # 2 mV/V x 5 V = 10 mV full load
        noise_codes = p["noise_nv"] / 1000.0 * codes_per_uv * (1.8 if sps >= 80 else 1.0)
        x = g * scale + p["offset_uv"] * codes_per_uv + noise_codes * _gauss(self.rng)
        c = int(round(x))
        if c >= _FULL:
            c = _FULL - 1
        elif c < -_FULL:
            c = -_FULL
        return c

    def snapshot(self):
        return {"t_s": self.t_s, "creep_g": self.creep_g, "mass_g": self.contents_g(),
                "rpm": self.rpm()}

    def restore(self, d):
        self.t_s = d.get("t_s", 0.0)
        self.creep_g = d.get("creep_g", 0.0)


class HX711:
    # Pin-level behaviour is integer-only and allocation-free (the firmware
    # reads it from inside its control step under heap_lock in tests); the
    # floating-point conversion runs in step(), between control ticks.
    def __init__(self, world, bridge, sck, dout):
        self.name = NAME
        self.w = world
        self.bridge = bridge
        self.sck = sck
        self.dout = dout
        self.sck_level = 0
        self.t_high = 0
        self.powered = True
        self.pulses = 0  # SCK pulses since the present code became ready
        self.ready = False
        self.code = 0  # 24-bit two's complement, as shifted out
        self.next_pulses = 25  # gain selection for the next conversion
        self.gain_pulses = 25  # the one used by the last conversion
        self.t_conv_us = 0
        self.settle = _SETTLE_CONV
        self.conversions = 0
        self.power_downs = 0
        self.rate_pin = -1  # the board's RATE pin (attach)

    def period_us(self):
        r = self.rate_pin
        if r < 0:
            sps = int(self.bridge.p["hx711_sps"])  # a board without a RATE pin: the plant's
        else:
            # The RATE pin: high 80 SPS, low 10; undriven it floats.
            w = self.w
            lvl = w.pins.get(r)
            if lvl is None:
                lvl = w.pads.float_level(r) if w.pads else 0
            sps = 80 if lvl else 10
        return 12500 if sps >= 80 else 100000

    def step(self, dt_us):
        w = self.w
        if self.sck_level and self.powered and w.vt_us - self.t_high > _PD_US:
            self._power_down(w.vt_us - self.t_high)
        if not self.powered:
            return
        self.t_conv_us += dt_us
        per = self.period_us()
        if self.t_conv_us < per:
            return
        self.t_conv_us -= per
        # The pulses ending the last read chose the gain of this conversion.
        gp = self.next_pulses
        self.gain_pulses = gp
        gain = 128 if gp == 25 else (32 if gp == 26 else 64)
        c = self.bridge.convert(per / 1e6, gain, 10 if per > 20000 else 80)
        if w.fault("hx711_stuck"):
            if self.bridge.stuck_code is None:
                self.bridge.stuck_code = c
            c = self.bridge.stuck_code
        else:
            self.bridge.stuck_code = None
        if self.settle:
            self.settle -= 1
            return
        if self.pulses and self.pulses < 24 and self.ready:
            return  # a read is in progress: the output register is held
        self.code = c & 0xFFFFFF
        self.pulses = 0
        self.ready = True
        self.conversions += 1

    def pin_read(self, pin):
        if pin != self.dout:
            return 0
        if self.w.fault("hx711_disconnect"):
            return self.w.FLOAT  # its DOUT wire cut: nothing drives the input
        if not self.powered or self.w.fault("hx711_timeout"):
            return 1
        n = self.pulses
        if n == 0:
            return 0 if self.ready else 1
        if n <= 24:
            return (self.code >> (24 - n)) & 1
        return 1

    def pin_write(self, pin, v):
        if pin != self.sck:
            return
        w = self.w
        if v and not self.sck_level:
            self.sck_level = 1
            self.t_high = w.vt_us
            if self.powered and (self.ready or self.pulses >= 25):
                self.pulses += 1
                if self.pulses >= 25:
                    self.next_pulses = self.pulses if self.pulses <= 27 else 27
                    if self.pulses == 25:
                        self.ready = False
        elif not v and self.sck_level:
            self.sck_level = 0
            if self.powered and w.vt_us - self.t_high > _PD_US:
                self._power_down(w.vt_us - self.t_high)
            if not self.powered:
                # Waking up: the chip resets to channel A, gain 128, and
                # throws away its first conversions while it settles.
                self.powered = True
                self.ready = False
                self.pulses = 0
                self.next_pulses = 25
                self.gain_pulses = 25
                self.t_conv_us = 0
                self.settle = _SETTLE_CONV

    def _power_down(self, us):
        # PD_SCK high over 60 us: the chip powers down; a read under way is
        # lost, and it comes back reset, settling, when SCK goes low.
        self.powered = False
        self.ready = False
        self.power_downs += 1
        import sys

        sys.stderr.write(
            "emulator: HX711 SCK high %d us > 60 us: powered down (HX711 datasheet, "
            "power-down control: PD_SCK high for over 60 us)\n" % us
        )

    def snapshot(self):
        d = self.bridge.snapshot()
        d["conversions"] = self.conversions
        d["powered"] = self.powered
        d["power_downs"] = self.power_downs
        d["gain_pulses"] = self.gain_pulses
        return d

    def restore(self, d):
        self.bridge.restore(d)

    def configure(self, params):
        self.bridge.configure(params)


def _peer(name):
    # Other plants are optional: this one must work alone.
    try:
        return __import__(name)
    except ImportError:
        return None


class _DrillPeer:
    # The drill plant keeps the core delivered at module level and its speed
    # on the plant object (omega, rad/s) in simworld.plants.
    def __init__(self, mod, plants):
        self._mod = mod
        self._plants = plants
        self._p = None

    @property
    def container_g(self):
        return self._mod.container_g

    @property
    def speed_rpm(self):
        p = self._p
        if p is None:
            for q in self._plants:
                if isinstance(q, self._mod.Drill):
                    p = self._p = q
                    break
            else:
                return 0.0
        return p.omega * 9.549296585513721  # 60 / (2 pi)


def attach(cfg):
    import simworld

    pins = cfg.get("pins", {})
    if "hx711_sck" not in pins or "hx711_dout" not in pins:
        return None
    drill = _peer("plant_drill")
    b = Bridge(cfg.get("plant", {}), int(cfg.get("seed", 0)) * 7919 + 11,
               _peer("plant_arm"), _DrillPeer(drill, simworld.plants) if drill else None)
    dev = HX711(simworld, b, pins["hx711_sck"], pins["hx711_dout"])
    rate = cfg.get("hx711", {}).get("rate_pin")
    dev.rate_pin = pins.get(rate, -1) if rate else -1
    simworld.plants.append(dev)
    simworld.attach_pin(dev.sck, dev)
    simworld.attach_pin(dev.dout, dev)
    return dev
