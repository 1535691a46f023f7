# Plant: the scoop arm. Three stepper joints (j1 yaw, j2 shoulder, j3 elbow)
# with home switches and hard stops, an arm current sense, and a servo
# scoop that picks up regolith at surface sites (mass per scoop drawn from a
# seeded distribution, less at a site dug before) and drops it into the
# sample container when tipped over it (spilled anywhere else).
# Faults: limit_switch_stuck (value j: joint j's home switch stuck open, as
# on its switch), limit_wire_cut (value j: its wire cut; 4 is the drill
# feed's, in plant_drill),
# arm_stall (value j: joint j no longer moves and draws stall current).

import simworld

MDEG_PER_STEP = 100
# Physical arm: soft limits as in boards/*.json, home switches at one end,
# hard stops 3 degrees beyond.
LIMITS = ((-90000, 180000), (-45000, 90000), (0, 160000))
HOME_HI = (False, True, True)
HARD_MARGIN = 3000
START = (0, 40000, 150000)  # stowed at power-on
DECK_J1 = 45000  # yaw below this is over the lander deck...
DECK_J2 = 28000  # ...where j2 below this would hit it
GROUND_J2 = -20000  # scoop tip in the regolith
SURFACE_J1 = 60000
CONTAINER_J1 = -60000
CONTAINER_TOL = 8000
CONTAINER_J2 = 30000
ISENSE_FS_MA = 5000
IDLE_MA = 150
MOVE_MA = 350
STALL_MA = 1500
ACTIVE_US = 20000

container_g = 0.0  # regolith dumped into the sample container (load-cell plant reads it)


class Arm:
    name = "arm"

    def __init__(self, cfg):
        pins = cfg.get("pins", {})
        self._step = [pins.get("j%d_step" % (j + 1), -1) for j in range(3)]
        self._dir = [pins.get("j%d_dir" % (j + 1), -1) for j in range(3)]
        self._home = [pins.get("j%d_home" % (j + 1), -1) for j in range(3)]
        self._scoop_pin = pins.get("scoop_pwm", -1)
        self.steps = [s // MDEG_PER_STEP for s in START]
        self.lo_seen = list(self.steps)
        self.hi_seen = list(self.steps)
        self._hard = [((lo - HARD_MARGIN) // MDEG_PER_STEP, (hi + HARD_MARGIN) // MDEG_PER_STEP)
                      for lo, hi in LIMITS]
        self._trip = [(hi if HOME_HI[j] else lo) // MDEG_PER_STEP
                      for j, (lo, hi) in enumerate(LIMITS)]
        self._level = [0, 0, 0]
        self.last_step_us = [-1, -1, -1]
        self.last_stall_us = [-1000000, -1000000, -1000000]
        self.stall_pulses = 0
        self.stall_since_us = -1  # first slipped pulse of the present stretch under arm_stall
        self.scoop_deg = 90.0
        self.scoop_g = 0.0
        self.spilled_g = 0.0
        self.scoops = 0
        self.dumps = 0
        self.deck_hits = 0
        self.dug = {}
        self.adc = 0
        self.ma = IDLE_MA
        self._rng = (int(cfg.get("seed", 0)) * 2654435761 + 97) & 0x7FFFFFFF
        self.configure(cfg.get("plant", {}))
        for j in range(3):
            simworld.attach_pin(self._step[j], self)
            simworld.attach_pin(self._home[j], self)
        simworld.adc_src[pins.get("arm_isense", -1)] = self._adc_read

    def configure(self, p):
        self.mean_g = float(p.get("scoop_g_mean", 120.0))
        self.sd_g = float(p.get("scoop_g_sd", 35.0))

    # Bus callbacks run inside the firmware's control step: integers only.
    def _adc_read(self):
        return self.adc

    def pin_read(self, pin):
        # Home switches: NC contacts to ground, open (driving nothing) on
        # the switch, stuck open, or with the wire cut.
        for j in range(3):
            if pin == self._home[j]:
                if (simworld.fault("limit_switch_stuck") == j + 1
                        or simworld.fault("limit_wire_cut") == j + 1):
                    return simworld.FLOAT
                if HOME_HI[j]:
                    return simworld.FLOAT if self.steps[j] >= self._trip[j] else 0
                return simworld.FLOAT if self.steps[j] <= self._trip[j] else 0
        return 0

    def pin_write(self, pin, v):
        for j in range(3):
            if pin == self._step[j]:
                if v and not self._level[j]:
                    self._pulse(j)
                self._level[j] = 1 if v else 0
                return

    def _pulse(self, j):
        d = 1 if simworld.pin_level(self._dir[j]) else -1
        p = self.steps[j] + d
        lo, hi = self._hard[j]
        if simworld.fault("arm_stall") == j + 1 or p < lo or p > hi:
            now = simworld.vt_us
            if simworld.fault("arm_stall") and (
                self.stall_since_us < 0 or now - self.last_stall_us[j] > ACTIVE_US
            ):
                # The fault's first effect, or the first of a new stretch of it:
                # a joint at rest between moves shows no stall current.
                self.stall_since_us = now
            self.last_stall_us[j] = now  # the rotor slips, the joint stays
            self.stall_pulses += 1
            return
        self.steps[j] = p
        if p < self.lo_seen[j]:
            self.lo_seen[j] = p
        if p > self.hi_seen[j]:
            self.hi_seen[j] = p
        self.last_step_us[j] = simworld.vt_us

    def _rand(self):
        self._rng = (self._rng * 1103515245 + 12345) & 0x7FFFFFFF
        return self._rng / 2147483648.0

    def _draw_g(self, site):
        # Roughly normal (sum of three uniforms), less at a site dug before.
        z = (self._rand() + self._rand() + self._rand() - 1.5) * 2.0
        g = self.mean_g + self.sd_g * z
        g *= 0.75 ** self.dug.get(site, 0)
        return min(max(g, 5.0), 400.0)

    def mdeg(self, j):
        return self.steps[j] * MDEG_PER_STEP

    def step(self, dt_us):
        now = simworld.vt_us
        if self.stall_since_us >= 0 and not simworld.fault("arm_stall"):
            self.stall_since_us = -1
        ma = IDLE_MA
        for j in range(3):
            if now - self.last_step_us[j] < ACTIVE_US:
                ma += MOVE_MA
            if now - self.last_stall_us[j] < ACTIVE_US:
                ma += STALL_MA
        self.ma = ma
        self.adc = min(65535, ma * 65535 // ISENSE_FS_MA)
        if simworld.fault("adc_overrange") == 2:
            self.adc = 65535  # the sense amplifier railed at its supply
        j1, j2, j3 = self.mdeg(0), self.mdeg(1), self.mdeg(2)
        if j1 < DECK_J1 and j2 < DECK_J2:
            self.deck_hits += 1
        duty = simworld.pwm.get(self._scoop_pin, 0)
        if not duty:
            return
        target = (duty * 20000 / 65535 - 1000) * 180 / 1000
        target = min(max(target, 0.0), 180.0)
        was = self.scoop_deg
        slew = 360.0 * dt_us / 1e6
        if abs(target - was) <= slew:
            now_deg = target
        else:
            now_deg = was + (slew if target > was else -slew)
        self.scoop_deg = now_deg
        in_ground = j2 <= GROUND_J2 and j1 >= SURFACE_J1
        if was < 60.0 <= now_deg and in_ground and self.scoop_g == 0.0:
            site = (j1 // 10000, j3 // 20000)
            self.scoop_g = self._draw_g(site)
            self.dug[site] = self.dug.get(site, 0) + 1
            self.scoops += 1
        if was < 150.0 <= now_deg and self.scoop_g > 0:
            self._tip(j1, j2)
        if now_deg < 30.0 <= was and self.scoop_g > 0 and not in_ground:
            self.spilled_g += self.scoop_g  # opened in the air
            self.scoop_g = 0.0

    def _tip(self, j1, j2):
        global container_g
        if abs(j1 - CONTAINER_J1) <= CONTAINER_TOL and j2 >= CONTAINER_J2:
            container_g += self.scoop_g
            self.dumps += 1
        else:
            self.spilled_g += self.scoop_g
        self.scoop_g = 0.0

    def snapshot(self):
        return {
            "mdeg": [self.mdeg(j) for j in range(3)],
            "lo_seen": [s * MDEG_PER_STEP for s in self.lo_seen],
            "hi_seen": [s * MDEG_PER_STEP for s in self.hi_seen],
            "switch": [0 if self.pin_read(self._home[j]) == 0 else 1 for j in range(3)],
            "last_step_us": list(self.last_step_us),
            "stall_pulses": self.stall_pulses,
            "stall_since_us": self.stall_since_us,
            "ma": self.ma,
            "scoop_deg": self.scoop_deg,
            "scoop_g": self.scoop_g,
            "container_g": container_g,
            "spilled_g": self.spilled_g,
            "scoops": self.scoops,
            "dumps": self.dumps,
            "deck_hits": self.deck_hits,
        }

    def restore(self, d):
        global container_g
        self.steps = [m // MDEG_PER_STEP for m in d.get("mdeg", START)]
        self.lo_seen = [m // MDEG_PER_STEP for m in d.get("lo_seen", self.lo_seen)]
        self.hi_seen = [m // MDEG_PER_STEP for m in d.get("hi_seen", self.hi_seen)]
        self.scoop_deg = d.get("scoop_deg", 90.0)
        self.scoop_g = d.get("scoop_g", 0.0)
        self.spilled_g = d.get("spilled_g", 0.0)
        container_g = d.get("container_g", 0.0)
        self.deck_hits = d.get("deck_hits", 0)


def attach(cfg):
    p = Arm(cfg)
    simworld.plants.append(p)
    return p
