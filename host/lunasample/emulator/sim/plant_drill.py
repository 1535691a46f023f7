# Plant: the drill. A DC motor (armature circuit + shaft inertia, torque
# constant, back-EMF, referred to the bit), a quadrature encoder, a current
# shunt read by the ADC, a stepper feed moving the bit into layered regolith
# over a rock layer at `rock_depth_mm`, and a percussion hammer (pin
# drill_hammer). Each layer (plant param `layers`: [top mm, bulk density
# g/cm^3, hardness N m, cohesion kPa]) resists the bit's turning by its
# hardness plus its cohesion on the cutting face, above the auger's friction
# that grows with depth. A layer harder than rotation can cut (HARD_NM)
# meets the bit like rock (the feed slips, the torque climbs) unless the
# hammer runs: hammering fractures its face, leaving PERCUSSION of its
# resistance. Rock yields to neither. The core fills by the layer's
# density over the core tube's bore.
# The core gathered on the way down is wound into its bag when the bit turns
# backwards at home (SEAL) and then drops into the sample container.
# Faults: drill_jam (value n: a torque spike that clears after n back-offs),
# motor_stall (shaft seized), encoder_loss (counts stop), encoder_cut (its
# wires cut: the pulled-up inputs stand still, no counts), adc_overrange = 1
# (the current sense amplifier railed at 3.3 V), limit_wire_cut = 4 (the
# feed's home switch wire cut: open).

import math

import simworld

CPR = 4096  # encoder counts per bit revolution (firmware encoder.py)
STEPS_PER_MM = 25  # feed lead screw (firmware drill.py)
V_SUPPLY = 24.0
R = 1.2  # ohm
L = 0.002  # H
KT = 1.0  # N m / A at the bit (motor x gearbox); back-EMF V s / rad equal
J = 0.05  # kg m^2
B = 0.005  # N m s
T_FRICTION = 0.3  # N m, bearings and bit in free air
SOIL_NM_PER_M = 2.0  # auger friction grows with depth
T_ROCK = 6.0  # N m on touching rock, +T_ROCK_MM per mm pressed in
T_ROCK_MM = 5.0
ROCK_GIVE_MM = 1.0  # the bit cannot go further into rock than this
T_JAM = 9.0
JAM_CLEAR_MM = 3.0  # a jam clears once the bit is lifted this far
T_SEIZED = 50.0
ISENSE_FS_A = 10.0  # current at ADC full scale
CORE_BORE_CM2 = 2.84  # core tube bore: 259 g over CE-5's 738 mm at the default layers
PERCUSSION = 0.2  # share of a layer's cutting resistance left while hammering
HARD_NM = 3.0  # rotation alone cuts no layer resisting more than this
NM_PER_KPA = 0.01  # cohesion's torque on the cutting face
# A CE-5-like site (Zheng et al. 2022: cored 0-738 mm, rock below; bulk
# density 1.24 g/cm^3 averaged, Li et al. 2021): loose fines, a compacted
# layer, a hard breccia lens that stops rotation alone, then coarser fines.
LAYERS = (
    (0.0, 1.10, 0.2, 1.0),
    (300.0, 1.25, 0.5, 2.0),
    (450.0, 1.60, 5.0, 8.0),
    (520.0, 1.30, 0.6, 2.0),
)
SEAL_REVS = 1.25
HOME_STOP_STEPS = -250  # the carriage's upper hard stop (10 mm above the park point)
# The feed's home switch (NC, to ground) opens 2 mm above the park point
# (steps 0, the bit at the surface), so a parked carriage rests with it
# closed and an open switch means "at the top" or a cut wire.
HOME_TRIP_STEPS = -50

container_g = 0.0  # core mass delivered to the sample container (load-cell plant reads it)


class Drill:
    name = "drill"

    def __init__(self, cfg):
        pins = cfg.get("pins", {})
        self._pwm = pins.get("drill_pwm", -1)
        self._dir = pins.get("drill_dir", -1)
        self._fdir = pins.get("feed_dir", -1)
        self._fstep = pins.get("feed_step", -1)
        self._home = pins.get("feed_home", -1)
        self._hammer = pins.get("drill_hammer", -1)
        self.omega = 0.0
        self.i = 0.0
        self.angle_counts = 0.0
        self.enc = 0
        self.adc = 0
        self.steps = 0  # feed carriage position, steps down from home
        self.max_steps = 0
        self.core_g = 0.0
        self.sealed = 0
        self.seal_rev = 0.0
        self.jam_left = 0
        self._jam_cmd = 0
        self.jam_at = -1.0
        self.jam_active = 0
        self.jams_hit = 0
        self.lost_steps = 0
        self.last_step_us = -1
        self.pwm_zero_us = 0
        self._duty_was = 0
        self._step_level = 0
        self._ae = math.exp(-0.001 / (L / R))
        self.configure(cfg.get("plant", {}))
        self._noise = 0
        self._face_mm = self.rock_mm
        simworld.attach_pin(self._fstep, self)
        simworld.attach_pin(self._home, self)
        simworld.adc_src[pins.get("drill_isense", -1)] = self._adc_read
        simworld.enc_src[pins.get("drill_enc_a", -1)] = self._enc_read

    def configure(self, p):
        self.rock_mm = float(p.get("rock_depth_mm", getattr(self, "rock_mm", 738)))
        self._rock_lim = int((self.rock_mm + ROCK_GIVE_MM) * STEPS_PER_MM)
        if "layers" in p or not hasattr(self, "layers"):
            self.layers = [tuple(float(x) for x in lay) for lay in p.get("layers", LAYERS)]
            self.layers.sort()
        self._face_lim = self._rock_lim

    def _face(self):
        # Where the bit stops now (mm): the rock, or unless the hammer runs
        # the first hard layer not yet cut through (its face: the deepest
        # the bit has cut into it).
        if self.hammering():
            return self.rock_mm
        cut_mm = self.max_steps / STEPS_PER_MM
        lays = self.layers
        for i in range(len(lays)):
            top, _, hard, coh = lays[i]
            bottom = lays[i + 1][0] if i + 1 < len(lays) else 1e9
            if hard + NM_PER_KPA * coh > HARD_NM and cut_mm < bottom and top < self.rock_mm:
                return max(top, cut_mm)
        return self.rock_mm

    def layer(self, depth):
        """(top mm, density g/cm^3, hardness N m, cohesion kPa) at this depth."""
        found = self.layers[0]
        for lay in self.layers:
            if lay[0] > depth:
                break
            found = lay
        return found

    def hammering(self):
        return self._hammer >= 0 and simworld.pin_level(self._hammer) == 1

    # Bus callbacks run inside the firmware's control step: integers only,
    # no allocation.
    def _adc_read(self):
        return self.adc

    def _enc_read(self):
        return self.enc

    def pin_read(self, pin):
        # feed_home: open (driving nothing) at the top, or with its wire cut
        if self.steps <= HOME_TRIP_STEPS or simworld.fault("limit_wire_cut") == 4:
            return simworld.FLOAT
        return 0

    def pin_write(self, pin, v):
        if pin != self._fstep:
            return
        if v and not self._step_level:
            down = simworld.pin_level(self._fdir)
            if down:
                if self.steps >= self._face_lim:
                    self.lost_steps += 1  # pressing on rock: the stepper slips
                else:
                    self.steps += 1
            elif self.steps > HOME_STOP_STEPS:
                self.steps -= 1
            self.last_step_us = simworld.vt_us
        self._step_level = 1 if v else 0

    def depth_mm(self):
        return self.steps / STEPS_PER_MM if self.steps > 0 else 0.0

    def _resist(self, depth):
        # Resisting torque magnitude at this depth.
        t = T_FRICTION
        if depth > 0:
            t += SOIL_NM_PER_M * depth / 1000.0
            lay = self.layer(depth)
            cut = lay[2] + NM_PER_KPA * lay[3]
            if cut > HARD_NM:
                cut *= PERCUSSION  # cut only while hammering (else the face stops it)
            t += cut
            face = self._face_mm
            if depth >= face:
                t += T_ROCK + T_ROCK_MM * (depth - face)
        if self.jam_active:
            t += T_JAM
        if simworld.fault("motor_stall"):
            t += T_SEIZED
        return t

    def _update_jam(self, depth):
        v = int(simworld.fault("drill_jam"))
        if v != self._jam_cmd:
            self._jam_cmd = v
            self.jam_left = v
            self.jam_at = -1.0
        if self.jam_left <= 0 or depth <= 0:
            self.jam_active = 0
            return
        if self.jam_at < 0:
            self.jam_at = depth  # strikes where the bit is now
        if self.jam_active:
            if depth < self.jam_at - JAM_CLEAR_MM:
                self.jam_active = 0
                self.jam_left -= 1
        elif depth >= self.jam_at and self.omega > 0.5:
            self.jam_active = 1
            self.jams_hit += 1

    def step(self, dt_us):
        duty = simworld.pwm.get(self._pwm, 0)
        if duty == 0 and self._duty_was:
            self.pwm_zero_us = simworld.vt_us
        self._duty_was = duty
        if self.steps > self.max_steps:
            # New hole: the core tube fills with the layer's regolith.
            density = self.layer(self.max_steps / STEPS_PER_MM)[1]
            mm = (self.steps - self.max_steps) / STEPS_PER_MM
            self.core_g += density * CORE_BORE_CM2 * mm / 10.0
            self.max_steps = self.steps
        self._face_mm = self._face()
        self._face_lim = int((self._face_mm + ROCK_GIVE_MM) * STEPS_PER_MM)
        depth = self.depth_mm()
        if self._jam_cmd or simworld.fault("drill_jam"):
            self._update_jam(depth)
        if duty == 0 and self.omega == 0.0 and self.i == 0.0:
            self.adc = 65535 if simworld.fault("adc_overrange") == 1 else 0
            return
        dt = dt_us / 1e6
        v = V_SUPPLY * duty / 65535.0
        if not simworld.pin_level(self._dir):
            v = -v
        w = self.omega
        i_ss = (v - KT * w) / R
        self.i = i = i_ss + (self.i - i_ss) * self._ae
        if abs(i) < 1e-4 and duty == 0:
            self.i = i = 0.0
        tm = KT * i - B * w
        tr = self._resist(depth)
        if w == 0.0 and abs(tm) <= tr:
            w = 0.0  # static: the motor cannot break the resistance
        else:
            s = 1.0 if (w > 0 or (w == 0.0 and tm > 0)) else -1.0
            w2 = w + (tm - s * tr) / J * dt
            w = 0.0 if (w2 > 0) != (s > 0) else w2
        self.omega = w
        d_counts = w * dt * CPR / (2 * math.pi)
        if not (simworld.fault("encoder_loss") or simworld.fault("encoder_cut")):
            self.angle_counts += d_counts
            self.enc = int(self.angle_counts)
        if self.steps <= 0 and w < 0 and self.core_g > 0:
            self.seal_rev += -d_counts / CPR
            if self.seal_rev >= SEAL_REVS:
                self._deliver()
        elif w > 0:
            self.seal_rev = 0.0
        self._noise = (self._noise * 1103515245 + 12345) & 0x7FFFFFFF
        a = int(abs(i) / ISENSE_FS_A * 65535) + ((self._noise >> 16) % 129) - 64
        self.adc = 0 if a < 0 else (65535 if a > 65535 else a)
        if simworld.fault("adc_overrange") == 1:
            self.adc = 65535  # the sense amplifier railed at its supply

    def _deliver(self):
        global container_g
        container_g += self.core_g
        self.core_g = 0.0
        self.sealed = 1
        self.seal_rev = 0.0

    def snapshot(self):
        return {
            "rpm": self.omega * 60 / (2 * math.pi),
            "amps": self.i,
            "duty": simworld.pwm.get(self._pwm, 0),
            "enc": self.enc,
            "steps": self.steps,
            "depth_mm": self.depth_mm(),
            "max_depth_mm": self.max_steps / STEPS_PER_MM,
            "rock_mm": self.rock_mm,
            "core_g": self.core_g,
            "container_g": container_g,
            "sealed": self.sealed,
            "jams_hit": self.jams_hit,
            "hammering": 1 if self.hammering() else 0,
            "jam_active": self.jam_active,
            "lost_steps": self.lost_steps,
            "last_step_us": self.last_step_us,
            "pwm_zero_us": self.pwm_zero_us,
        }

    def restore(self, d):
        global container_g
        self.steps = d.get("steps", 0)
        self.max_steps = int(d.get("max_depth_mm", 0) * STEPS_PER_MM)
        self.core_g = d.get("core_g", 0.0)
        container_g = d.get("container_g", 0.0)
        self.sealed = d.get("sealed", 0)
        # A fresh boot: the encoder counter starts again at zero.
        self.enc = 0
        self.angle_counts = 0.0


def attach(cfg):
    p = Drill(cfg)
    simworld.plants.append(p)
    return p
