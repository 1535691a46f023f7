"""The rig file (test_rigs/NAME/rig.toml) as a typed model: units, ranges and the
rules within the file. Rules against the board file (wiring, RATE pin, depth
limit) need the board and live in lunasample.rigs.schema."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, model_validator
from pydantic_core import PydanticCustomError

MOTOR_NAMES = ("drill", "feed", "j1", "j2", "j3", "scoop")
MotorName = Literal["drill", "feed", "j1", "j2", "j3", "scoop"]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
Text = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    # strict: TOML gives typed values, so "5" for a number is a mistake, not a 5.
    model_config = ConfigDict(extra="forbid", strict=True)


def _pos(desc: str, default: Any = None) -> Any:
    return Field(default, gt=0, description=desc)


class RigInfo(_Strict):
    name: Text = Field(description="rig name (the folder under test_rigs/)")
    description: str = Field("", description="what the rig is, for people")
    board: Text = Field(description="board file the rig is wired to (boards/NAME.json)")
    emulated: bool = Field(False, description="the board and plants are emulated")


class Motor(_Strict):
    kind: Literal["dc", "stepper", "servo"] = Field(description="motor type")
    rated_rpm: float | None = _pos("rated speed, rpm")
    rated_current_ma: float | None = _pos("rated current, mA")
    encoder_cpr: int | None = _pos("encoder counts per revolution")
    steps_per_rev: int | None = _pos("full steps per revolution")
    microsteps: int | None = _pos("driver microstepping")
    gear_ratio: float | None = _pos("gearbox ratio (motor turns per output turn)")
    steps_per_mm: float | None = _pos("linear axis: steps per mm")
    range_deg: float | None = _pos("travel, degrees")


class LoadCell(_Strict):
    capacity_g: float = _pos("rated capacity, g", ...)
    sensitivity_mv_v: float | None = _pos("rated output, mV/V")
    amplifier: Literal["hx711"] | None = Field(None, description="amplifier / ADC")
    rate_sps: Literal[10, 80] | None = Field(
        None, description="HX711 conversion rate, samples/s (must match the board's RATE pin)"
    )
    reference_weights_g: list[Annotated[float, Field(gt=0)]] = Field(
        min_length=1, description="reference weights on the bench, g"
    )
    calibration_weight_g: float = _pos("weight used by scale_calibration, g", ...)

    @model_validator(mode="after")
    def _within_capacity(self) -> LoadCell:
        for w in [*self.reference_weights_g, self.calibration_weight_g]:
            if w > self.capacity_g:
                raise PydanticCustomError(
                    "over_capacity",
                    f"reference_weights_g: {w:g} g is over the cell's capacity_g "
                    f"{self.capacity_g:g}",
                )
        return self


class Container(_Strict):
    name: Text | None = Field(None, description="container name")
    tare_g: float = Field(0, ge=0, description="empty container mass, g")
    capacity_g: float = _pos("sample capacity, g", ...)


class Safety(_Strict):
    max_drill_rpm: float = _pos("drill speed limit, rpm", ...)
    max_drill_current_ma: float | None = _pos("drill current limit, mA")
    max_depth_mm: float = _pos("drill depth limit, mm", ...)
    max_scoop_g: float | None = _pos("mass one scoop may take, g")


class Emulator(_Strict):
    seed: int = Field(0, ge=0, description="plant noise seed")
    speed: float = Field(0, ge=0, description="emulated clock speed (0: as fast as it goes)")
    plant: dict[Name, float] = Field(default_factory=dict, description="plant model settings")
    faults: dict[Name, float] = Field(default_factory=dict, description="faults to inject")


class _RigBase(_Strict):
    rig: RigInfo
    wiring: dict[Name, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="GPIO of each signal as wired (checked against the board)",
    )
    motors: dict[MotorName, Motor] = Field(default_factory=dict)
    loadcell: LoadCell
    container: Container
    safety: Safety
    emulator: Emulator = Field(default_factory=Emulator)

    @model_validator(mode="after")
    def _cross(self) -> _RigBase:
        cell, box, safety = self.loadcell, self.container, self.safety
        if box.tare_g + box.capacity_g > cell.capacity_g:
            raise PydanticCustomError(
                "over_capacity",
                "container.capacity_g: a full container (tare_g + capacity_g) "
                "is over the load cell's capacity_g",
            )
        drill = self.motors.get("drill")
        if drill and drill.rated_rpm is not None and safety.max_drill_rpm > drill.rated_rpm:
            raise PydanticCustomError(
                "over_rating",
                f"safety.max_drill_rpm: {safety.max_drill_rpm:g} rpm is over the drill "
                f"motor's rated_rpm {drill.rated_rpm:g}",
            )
        cur = safety.max_drill_current_ma
        if drill and cur is not None and drill.rated_current_ma is not None:
            if cur > drill.rated_current_ma:
                raise PydanticCustomError(
                    "over_rating",
                    f"safety.max_drill_current_ma: {cur:g} mA is over the drill motor's "
                    "rated_current_ma",
                )
        return self


@cache
def rig_model() -> type[_RigBase]:
    """The rig file model, with a [procedure.NAME] table for each discovered procedure
    (its settings and limits with their ranges)."""
    from lunasample.rigs import registry

    tables: dict[str, Any] = {}
    for name, proc in registry.procedures().items():
        fields: dict[str, Any] = {
            k: (
                int | None if s.integer else float | None,
                Field(None, ge=s.lo, le=s.hi, description=f"{s.doc} (default {s.default:g})"),
            )
            for k, s in proc.keys.items()
        }
        table = create_model(f"Procedure_{name}", __base__=_Strict, **fields)
        table.__doc__ = proc.title
        tables[name] = (table | None, Field(None, description=proc.title))
    procs = create_model("Procedures", __base__=_Strict, **tables)
    model = create_model(
        "RigFile",
        __base__=_RigBase,
        procedure=(procs, Field(default_factory=procs, description="procedure settings")),
    )
    model.__doc__ = "test_rigs/NAME/rig.toml: one bench rig, its parts and limits."
    return model
