# Actuators: a DC motor on PWM + direction pin, a step/direction stepper,
# and an RC servo. All set-calls are allocation-free (control step).
import machine
import micropython
from micropython import const

_PWM_HZ = const(20000)
_SERVO_HZ = const(50)


class DCMotor:
    def __init__(self, pwm_pin, dir_pin):
        self._dir = machine.Pin(dir_pin, machine.Pin.OUT, value=1)
        self._pwm = machine.PWM(machine.Pin(pwm_pin), freq=_PWM_HZ, duty_u16=0)
        self._fwd = 1
        self.duty = 0  # signed, -65535..65535

    def set(self, duty):
        """Signed duty; positive turns the bit the cutting way."""
        fwd = 1 if duty >= 0 else 0
        if fwd != self._fwd:
            self._fwd = fwd
            self._dir.value(fwd)
        self._pwm.duty_u16(duty if fwd else -duty)
        self.duty = duty


class Stepper:
    # Pins only: the step generator (stepgen.py) keeps the position.
    def __init__(self, step_pin, dir_pin):
        self._step = machine.Pin(step_pin, machine.Pin.OUT, value=0)
        self._dirp = machine.Pin(dir_pin, machine.Pin.OUT, value=1)
        self._d = 1

    @micropython.native
    def edge(self, d):
        """One step pulse in direction d (+1/-1)."""
        if d != self._d:
            self._d = d
            self._dirp.value(1 if d > 0 else 0)
        self._step.value(1)
        self._step.value(0)


class Servo:
    def __init__(self, pin):
        self._pwm = machine.PWM(machine.Pin(pin), freq=_SERVO_HZ, duty_u16=0)
        self.angle = -1

    def set(self, angle):
        """Angle 0..180 degrees -> 1000..2000 us pulse at 50 Hz."""
        self.angle = angle
        self._pwm.duty_u16((1000 + angle * 1000 // 180) * 65535 // 20000)
