"""The board file (boards/NAME.json) as a typed model: what each key may hold.

pydantic v2 gives the JSON Schema editors read (`lunasample schema board`)
and one-line errors naming the key path from the same declaration.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["output", "pwm", "input", "irq", "adc", "pio"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PinWiring(_Strict):
    """One signal: the GPIO it is on, what the firmware makes of it, and how it is wired."""

    gpio: int = Field(ge=0, le=63, description="GPIO number")
    role: Role = Field(description="what the firmware makes of the pin")
    pull: Literal["up", "down", "none", "external"] | None = Field(
        None, description="input bias: the chip's pull, none, or a resistor on the board"
    )
    contact: Literal["NC", "NO"] | None = Field(
        None, description="switch contact: NC opens to act, so a cut wire acts too"
    )
    atten_db: float | None = Field(None, description="ESP32 ADC attenuation, dB")
    note: str | None = Field(None, description="what is wired there")


class Hx711Wiring(_Strict):
    rate_sps: Literal[10, 80] = Field(description="conversion rate the RATE pin selects")
    rate_pin: str | None = Field(None, description="the pins entry driving RATE, if any")
    rate_strap: Literal["high", "low"] | None = Field(
        None, description="RATE tied on the board instead of driven by a pin"
    )


class HomeSwitch(_Strict):
    """Where an axis's NC home switch sits, in its driver's steps (DIR high counts up)."""

    switch: str = Field(description="the pins entry of the axis's home switch")
    rest: int = Field(description="where the axis rests at power-on (stowed, parked)")
    trip: int = Field(description="the switch reads open at this position and beyond")
    stop: int = Field(description="the hard stop beyond the switch: further steps are lost")
    note: str | None = None


class Transport(_Strict):
    kind: str
    baud: int = Field(gt=0)
    port_hint: str | None = None


class StepPio(_Strict):
    sm: int = Field(ge=0, le=7)
    base: int = Field(ge=0, le=29)


class GpioOut(_Strict):
    set: int
    clr: int


class BoardFile(_Strict):
    """boards/NAME.json: the pins, limits, loop rate and parts of one board."""

    name: str
    mcu: Literal["ESP32", "RP2040", "unix"]
    module: str | None = Field(None, description="module or board (ESP32-WROOM-32, RPI_PICO)")
    cpu_hz: int = Field(gt=0)
    mpy_arch: Literal["armv6m", "xtensawin", "x64", "x86"]
    heap_kb: int = Field(gt=0)
    loop_hz: int = Field(gt=0, le=10000)
    step_hz: dict[str, int] | None = None
    step_pio: StepPio | None = None
    watchdog_ms: int = Field(500, gt=0)
    gpio_out: GpioOut | None = None
    transport: Transport
    hx711_driver: Literal["gpio", "pio"] = "gpio"
    pins: dict[str, PinWiring]
    drivers: dict[str, Literal["DRV8825", "A4988", "TMC2209"]] = Field(
        default_factory=dict, description="each step axis's driver (timings in parts.json)"
    )
    homing: dict[str, HomeSwitch] | None = Field(
        None, description="each step axis's home switch, for a plant on the pins (rp2040js)"
    )
    hx711: Hx711Wiring | None = None
    limits: dict[str, int | list[int]]
    subsystems: list[Literal["scale", "journal", "drill", "arm", "campaign"]] = Field(
        default_factory=list
    )
