# Safety state machine: SAFE -> ARMED -> BUSY, FAULT from anywhere.
# E-stop is accepted in every state. Every fault has a code and a recovery
# command (docs/protocol.md lists them). Allocation-free: it runs inside
# the control step.
from micropython import const

SAFE = const(0)
ARMED = const(1)
BUSY = const(2)
FAULT = const(3)
STATE_NAMES = ("SAFE", "ARMED", "BUSY", "FAULT")

# Fault codes (part of the protocol: never renumber).
F_NONE = const(0)
F_ESTOP = const(1)
F_DRILL_JAM = const(2)
F_DRILL_STALL = const(3)
F_ENCODER = const(4)
F_SCALE_TIMEOUT = const(5)
F_SCALE_STUCK = const(6)
F_LIMIT_SWITCH = const(7)
F_ARM_STALL = const(8)
F_OVERCURRENT = const(9)
F_CALIBRATION = const(10)
F_STORAGE = const(11)
F_JOINT_LIMIT = const(12)
F_DEPTH_LIMIT = const(13)
F_ESTOP_INPUT = const(14)  # the hardwired e-stop loop opened: pressed, or its wire cut
F_ESTOP_BOOT = const(15)  # the e-stop loop was already open at boot
F_SWITCH_OPEN = const(16)  # a limit/home switch read open at boot: wire cut, or on its switch
F_ADC_RANGE = const(17)  # a current sense read at its ADC's top: over range, not a current
F_SCALE_RATE = const(18)  # the HX711 converts at another rate than its RATE pin selects
FAULT_NAMES = (
    "none", "estop", "drill_jam", "drill_stall", "encoder_lost", "scale_timeout",
    "scale_stuck", "limit_switch", "arm_stall", "overcurrent", "calibration",
    "storage", "joint_limit", "depth_limit", "estop_input", "estop_boot", "switch_open",
    "adc_range", "scale_rate",
)

# Why the board went to SAFE on its own (reported when the link returns).
R_NONE = const(0)
R_LINK_LOST = const(1)
R_BOOT = const(2)
REASON_NAMES = ("none", "link_lost", "boot")


class Safety:
    def __init__(self):
        self.state = SAFE
        self.fault = F_NONE
        self.reason = R_BOOT
        # 1 after an e-stop (ESTOP, the hardwired loop): movers also cut what
        # a plain stop holds (the scoop servo's pulses). RESET clears it.
        self.cut = 0
        self._movers = ()
        # Pending events as ints (kind<<8 | value); sent by the link outside
        # the control step. A small ring: no allocation when raised.
        self._ev = bytearray(32)
        self._ev_head = 0
        self._ev_tail = 0

    def set_movers(self, movers):
        """Objects with stop(): everything that can move, stopped on any trip."""
        self._movers = tuple(movers)

    def stop_all(self):
        for m in self._movers:
            m.stop()

    def _to(self, s):
        if s != self.state:
            self.state = s
            self._push(1, s)

    def _push(self, kind, value):
        i = self._ev_head
        nxt = (i + 2) & 31
        if nxt == self._ev_tail:
            return  # full: the state is still visible in telemetry
        self._ev[i] = kind
        self._ev[i + 1] = value
        self._ev_head = nxt

    def pop_event(self):
        """(kind, value) of the oldest pending event, or None. kind 1=state, 2=fault."""
        if self._ev_tail == self._ev_head:
            return None
        i = self._ev_tail
        self._ev_tail = (i + 2) & 31
        return self._ev[i], self._ev[i + 1]

    def estop(self):
        self.cut = 1
        self.trip(F_ESTOP)

    def trip(self, code):
        """Enter FAULT with `code`, stopping all motion. Allocation-free."""
        self.stop_all()
        if self.state != FAULT or self.fault != code:
            # An e-stop stays the reported cause: what the stop then sets off
            # (a stalled drill, a job cut short) is its consequence.
            if self.state == FAULT and F_ESTOP_INPUT <= self.fault <= F_ESTOP_BOOT:
                return
            self.fault = code
            self._push(2, code)
        self._to(FAULT)

    def link_lost(self):
        if self.state == FAULT:
            self.stop_all()
            return
        self.stop_all()
        self.reason = R_LINK_LOST
        self._to(SAFE)

    def arm(self):
        if self.state == FAULT:
            return False
        if self.state == SAFE:
            self.reason = R_NONE
            self._to(ARMED)
        return True

    def disarm(self):
        self.stop_all()
        if self.state != FAULT:
            self._to(SAFE)

    def busy(self):
        self._to(BUSY)

    def idle(self):
        if self.state == BUSY:
            self._to(ARMED)

    def clear(self):
        """Recover from FAULT to SAFE (the caller checks the cause is gone)."""
        if self.state == FAULT:
            self.fault = F_NONE
            self.cut = 0
            self._to(SAFE)
