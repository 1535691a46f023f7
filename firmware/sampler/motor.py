# Actuators: a step/direction stepper and an RC servo. All set-calls are
# allocation-free (control step). The drill's DC motor is driven by the
# drill's own step (drill.py).
import time

import machine
import micropython
from micropython import const

_sleep_us = time.sleep_us

_SERVO_HZ = const(50)


class Stepper:
    # Pins only: the step generator (stepgen.py) keeps the position.
    def __init__(self, step_pin, dir_pin, high_us=2, setup_us=1):
        self._step = machine.Pin(step_pin, machine.Pin.OUT, value=0)
        self._dirp = machine.Pin(dir_pin, machine.Pin.OUT, value=1)
        self._d = 1
        self._hi = high_us  # the driver's minimum STEP high
        self._su = setup_us  # and DIR setup before the STEP edge

    @micropython.native
    def edge(self, d):
        """One step pulse in direction d (+1/-1)."""
        if d != self._d:
            self._d = d
            self._dirp.value(1 if d > 0 else 0)
            _sleep_us(self._su)
        self._step.value(1)
        _sleep_us(self._hi)
        self._step.value(0)


class Servo:
    def __init__(self, pin):
        self._pwm = machine.PWM(machine.Pin(pin), freq=_SERVO_HZ, duty_u16=0)
        self.angle = -1

    def set(self, angle):
        """Angle 0..180 degrees -> 1000..2000 us pulse at 50 Hz."""
        self.angle = angle
        self._pwm.duty_u16((1000 + angle * 1000 // 180) * 65535 // 20000)

    def off(self):
        """No pulses: the servo stops driving (an e-stop cuts it)."""
        self.angle = -1
        self._pwm.duty_u16(0)
