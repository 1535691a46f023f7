# Actuators: a step/direction stepper and an RC servo. All set-calls are
# allocation-free (control step). The drill's DC motor is driven by the
# drill's own step (drill.py).
import machine
import micropython
from micropython import const

_SERVO_HZ = const(50)


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
