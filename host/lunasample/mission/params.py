"""Mission parameters: load ``params.toml`` (plus an optional user override) into typed
dataclasses (pydantic v2: ranges, strict types, JSON Schema from one declaration).

Every figure the simulator uses lives in ``params.toml`` next to this module, with its
source. A user file overrides it key by key. Any problem (syntax, missing key, wrong
type, out of range, unknown key) raises :class:`ParamsError` with a one-line message
that names the file, the key path and the rule.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from lunasample.config.errors import key_path, validation_error
from lunasample.errors import UserError

DEFAULT_PARAMS = Path(__file__).with_name("params.toml")


class ParamsError(UserError):
    """A parameters file is unreadable or holds a bad value; the message is one line."""


# Validated as JSON in strict mode (TOML values are JSON's), so an int is a number but
# a fraction is not an int.
_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
Frac = Annotated[float, Field(ge=0.0, le=1.0)]
Positives = Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]


@dataclass(frozen=True, config=_CONFIG)
class MissionInfo:
    name: str
    launch_epoch: str
    landing_lat_deg: Annotated[float, Field(ge=-90, le=90)]
    landing_lon_deg: Annotated[float, Field(ge=-180, le=180)]
    landing_elevation_m: Annotated[float, Field(ge=-10000, le=10000)]


@dataclass(frozen=True, config=_CONFIG)
class Constants:
    moon_gm_km3_s2: Annotated[float, Field(gt=0)]
    moon_radius_km: Annotated[float, Field(gt=0)]
    earth_gm_km3_s2: Annotated[float, Field(gt=0)]
    earth_radius_km: Annotated[float, Field(gt=0)]
    earth_moon_distance_km: Annotated[float, Field(gt=0)]
    moon_orbital_speed_km_s: Annotated[float, Field(gt=0)]
    synodic_month_d: Annotated[float, Field(gt=0)]
    sidereal_month_d: Annotated[float, Field(gt=0)]
    g0_m_s2: Annotated[float, Field(gt=0)]
    solar_constant_w_m2: Annotated[float, Field(gt=0)]
    stefan_boltzmann: Annotated[float, Field(gt=0)]
    speed_of_light_km_s: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Vehicle:
    orbiter_dry_kg: Annotated[float, Field(gt=0)]
    orbiter_propellant_kg: Annotated[float, Field(ge=0)]
    orbiter_isp_s: Annotated[float, Field(gt=0)]
    returner_kg: Annotated[float, Field(gt=0)]
    lander_dry_kg: Annotated[float, Field(gt=0)]
    lander_propellant_kg: Annotated[float, Field(ge=0)]
    ascender_dry_kg: Annotated[float, Field(gt=0)]
    ascender_propellant_kg: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class Launch:
    vehicle_capacity_kg: Annotated[float, Field(gt=0)]
    failure_prob: Frac
    duration_s: Annotated[float, Field(gt=0)]
    perigee_alt_km: Annotated[float, Field(gt=0)]
    injection_sigma_m_s: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class Transfer:
    apogee_alt_km: Annotated[float, Field(gt=0)]
    mcc1_time_h: Annotated[float, Field(gt=0)]
    mcc_execution_sigma_frac: Frac
    mcc_nav_sigma_m_s: Annotated[float, Field(ge=0)]
    mcc_budget_m_s: Annotated[float, Field(gt=0)]
    mcc_anomaly_m_s: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Loi:
    capture_periapsis_alt_km: Annotated[float, Field(gt=0)]
    capture_apoapsis_alt_km: Annotated[float, Field(gt=0)]
    execution_sigma_frac: Frac
    min_periapsis_alt_km: Annotated[float, Field(gt=0)]
    orbit_wait_d: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class Descent:
    start_alt_km: Annotated[float, Field(gt=0)]
    engine_thrust_n: Annotated[float, Field(gt=0)]
    min_thrust_n: Annotated[float, Field(gt=0)]
    isp_s: Annotated[float, Field(gt=0)]
    thrust_sigma_frac: Frac
    isp_sigma_frac: Frac
    gate_alt_m: Annotated[float, Field(gt=0)]
    switch_speed_m_s: Annotated[float, Field(gt=0)]
    braking_tau_s: Annotated[float, Field(gt=0)]
    approach_tau_s: Annotated[float, Field(gt=0)]
    approach_max_rate_m_s: Annotated[float, Field(gt=0)]
    approach_min_rate_m_s: Annotated[float, Field(gt=0)]
    hover_alt_m: Annotated[float, Field(gt=0)]
    hover_s: Annotated[float, Field(ge=0)]
    divert_mean_m: Annotated[float, Field(gt=0)]
    divert_max_m: Annotated[float, Field(gt=0)]
    divert_accel_m_s2: Annotated[float, Field(gt=0)]
    final_rate_m_s: Annotated[float, Field(gt=0)]
    final_rate_sigma_m_s: Annotated[float, Field(ge=0)]
    cutoff_alt_m: Annotated[float, Field(gt=0)]
    cutoff_alt_sigma_m: Annotated[float, Field(ge=0)]
    touchdown_limit_m_s: Annotated[float, Field(gt=0)]
    slope_sigma_deg: Annotated[float, Field(ge=0)]
    slope_limit_deg: Annotated[float, Field(gt=0, lt=90)]
    landing_sigma_km: Annotated[float, Field(ge=0)]
    ellipse_radius_km: Annotated[float, Field(gt=0)]
    dt_s: Annotated[float, Field(gt=0, le=5)]
    max_time_s: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Surface:
    stay_h: Annotated[float, Field(gt=0)]
    checkout_h: Annotated[float, Field(ge=0)]
    sampling_max_h: Annotated[float, Field(gt=0)]
    ascent_prep_h: Annotated[float, Field(ge=0)]
    ascent_max_delay_h: Annotated[float, Field(ge=0)]
    relay_period_h: Annotated[float, Field(gt=0)]
    relay_periapsis_alt_km: Annotated[float, Field(gt=0)]
    relay_inclination_deg: Annotated[float, Field(ge=0, le=180)]
    relay_arg_periapsis_deg: Annotated[float, Field(ge=-360, le=360)]
    relay_raan_deg: Annotated[float, Field(ge=-360, le=360)]
    relay_phase_h: float
    relay_phase_sigma_h: Annotated[float, Field(ge=0)]
    relay_min_elevation_deg: Annotated[float, Field(ge=0, lt=90)]
    sun_elevation_deg: Annotated[float, Field(gt=0, lt=90)]
    sun_elevation_sigma_deg: Annotated[float, Field(ge=0)]
    array_power_w: Annotated[float, Field(gt=0)]
    array_tilt_deg: Annotated[float, Field(ge=0, lt=90)]
    battery_wh: Annotated[float, Field(gt=0)]
    battery_min_soc: Frac
    payload_shed_soc: Frac
    base_load_w: Annotated[float, Field(ge=0)]
    sampling_load_w: Annotated[float, Field(ge=0)]
    load_sigma_frac: Frac
    radon_w: Annotated[float, Field(ge=0)]
    negative_ion_w: Annotated[float, Field(ge=0)]
    retroreflector_w: Annotated[float, Field(ge=0)]
    surface_albedo: Frac
    surface_emissivity: Annotated[float, Field(gt=0, le=1)]
    max_surface_temp_k: Annotated[float, Field(gt=0)]
    step_h: Annotated[float, Field(gt=0, le=1)]


@dataclass(frozen=True, config=_CONFIG)
class Surrogate:
    setup_s: Annotated[float, Field(ge=0)]
    drill_target_mm: Annotated[float, Field(gt=0)]
    drill_rate_mm_s: Annotated[float, Field(gt=0)]
    rock_depth_median_mm: Annotated[float, Field(gt=0)]
    rock_depth_sigma_log: Annotated[float, Field(ge=0)]
    core_g_per_mm: Annotated[float, Field(gt=0)]
    scoop_mass_mean_g: Annotated[float, Field(gt=0)]
    scoop_mass_sd_g: Annotated[float, Field(ge=0)]
    scoop_empty_prob: Frac
    scoop_cycle_mean_s: Annotated[float, Field(gt=0)]
    scoop_cycle_sd_s: Annotated[float, Field(ge=0)]
    scoop_cycle_min_s: Annotated[float, Field(gt=0)]
    density_sigma_frac: Frac
    core_seal_s: Annotated[float, Field(ge=0)]
    seal_s: Annotated[float, Field(ge=0)]
    seal_fail_prob: Frac
    max_scoops: Annotated[int, Field(gt=0, le=1000)]


@dataclass(frozen=True, config=_CONFIG)
class Ops:
    site_survey_min: Annotated[float, Field(ge=0)]
    drill_stage_mm: Annotated[float, Field(gt=0)]
    drill_check_min: Annotated[float, Field(ge=0)]
    imaging_min: Annotated[float, Field(ge=0)]
    assessment_min: Annotated[float, Field(ge=0)]
    approval_min: Annotated[float, Field(ge=0)]
    container_seal_min: Annotated[float, Field(ge=0)]
    max_temp_k: Annotated[float, Field(gt=0)]
    grid_min: Annotated[float, Field(gt=0, le=15)]


@dataclass(frozen=True, config=_CONFIG)
class Sampling:
    target_g: Annotated[float, Field(gt=0)]
    min_return_g: Annotated[float, Field(gt=0)]
    ops: Ops
    surrogate: Surrogate


@dataclass(frozen=True, config=_CONFIG)
class Ascent:
    engine_thrust_n: Annotated[float, Field(gt=0)]
    isp_s: Annotated[float, Field(gt=0)]
    thrust_sigma_frac: Frac
    isp_sigma_frac: Frac
    vertical_rise_m: Annotated[float, Field(ge=0)]
    target_periapsis_alt_km: Annotated[float, Field(gt=0)]
    target_apoapsis_alt_km: Annotated[float, Field(gt=0)]
    guidance_tau_s: Annotated[float, Field(gt=0)]
    min_periapsis_alt_km: Annotated[float, Field(gt=0)]
    dt_s: Annotated[float, Field(gt=0, le=5)]
    max_time_s: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Rvd:
    start_radial_km: float
    start_along_km: float
    start_sigma_km: Annotated[float, Field(ge=0)]
    hold_points_m: Positives
    leg_times_s: Positives
    closing_speed_m_s: Annotated[float, Field(gt=0)]
    final_corrections: Annotated[int, Field(gt=0, le=100)]
    nav_sigma_frac: Frac
    nav_sigma_floor_m: Annotated[float, Field(ge=0)]
    nav_velocity_sigma_m_s: Annotated[float, Field(ge=0)]
    exec_sigma_frac: Frac
    exec_sigma_floor_m_s: Annotated[float, Field(ge=0)]
    miss_limit_m: Annotated[float, Field(gt=0)]
    closing_min_m_s: Annotated[float, Field(ge=0)]
    closing_max_m_s: Annotated[float, Field(gt=0)]
    phasing_h: Annotated[float, Field(ge=0)]
    hold_s: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class SampleTransfer:
    duration_h: Annotated[float, Field(gt=0)]
    jam_prob: Frac
    orbit_wait_d: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class Tei:
    execution_sigma_frac: Frac
    mcc_budget_m_s: Annotated[float, Field(gt=0)]
    mcc_nav_sigma_m_s: Annotated[float, Field(ge=0)]


@dataclass(frozen=True, config=_CONFIG)
class Reentry:
    interface_alt_km: Annotated[float, Field(gt=0)]
    entry_angle_deg: Annotated[float, Field(gt=-90, lt=0)]
    entry_angle_sigma_deg: Annotated[float, Field(ge=0)]
    drag_coefficient: Annotated[float, Field(gt=0)]
    area_m2: Annotated[float, Field(gt=0)]
    lift_to_drag: Annotated[float, Field(ge=0)]
    lift_to_drag_sigma_frac: Frac
    rho0_kg_m3: Annotated[float, Field(gt=0)]
    scale_height_km: Annotated[float, Field(gt=0)]
    density_sigma_frac: Frac
    nose_radius_m: Annotated[float, Field(gt=0)]
    sutton_graves_k: Annotated[float, Field(gt=0)]
    exit_lift_fraction: Annotated[float, Field(ge=-1, le=1)]
    skip_apex_target_km: Annotated[float, Field(gt=0)]
    skip_apex_gain: Annotated[float, Field(ge=0)]
    skip_alt_km: Annotated[float, Field(gt=0)]
    second_entry_lift_fraction: Annotated[float, Field(ge=-1, le=1)]
    chute_alt_km: Annotated[float, Field(gt=0)]
    peak_g_limit: Annotated[float, Field(gt=0)]
    heat_flux_limit_mw_m2: Annotated[float, Field(gt=0)]
    dt_s: Annotated[float, Field(gt=0, le=5)]
    max_time_s: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Landing:
    chute_fail_prob: Frac
    descent_rate_m_s: Annotated[float, Field(gt=0)]
    wind_sigma_m_s: Annotated[float, Field(ge=0)]
    range_authority_km: Annotated[float, Field(ge=0)]
    guidance_sigma_km: Annotated[float, Field(ge=0)]
    recovery_radius_km: Annotated[float, Field(gt=0)]


@dataclass(frozen=True, config=_CONFIG)
class Reference:
    """The flown missions' dates (ISO 8601 UTC) and figures, for comparison only."""

    ce5_launch: str
    ce5_loi: str
    ce5_landing: str
    ce5_drill_done: str
    ce5_sampling_done: str
    ce5_ascent: str
    ce5_docking: str
    ce5_transfer_done: str
    ce5_separation: str
    ce5_capsule_landing: str
    ce5_sample_g: Annotated[float, Field(gt=0)]
    ce5_sampling_h: Annotated[float, Field(gt=0)]
    ce5_core_g: Annotated[float, Field(gt=0)]
    ce5_scooped_g: Annotated[float, Field(gt=0)]
    ce5_core_top_mm: Annotated[float, Field(gt=0)]
    ce5_bulk_density_g_cm3: Annotated[float, Field(gt=0)]
    ce6_launch: str
    ce6_loi: str
    ce6_landing: str
    ce6_ascent: str
    ce6_docking: str
    ce6_transfer_done: str
    ce6_capsule_landing: str
    ce6_sample_g: Annotated[float, Field(gt=0)]
    ce6_sampling_h: Annotated[float, Field(gt=0)]
    ce6_duration_d: Annotated[float, Field(gt=0)]

    def time(self, key: str) -> datetime:
        """A reference date as an aware UTC datetime (``key`` e.g. "ce6_landing")."""
        return _utc(getattr(self, key))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


@dataclass(frozen=True, config=_CONFIG)
class MissionParams:
    """All mission figures, one dataclass per section of ``params.toml``."""

    mission: MissionInfo
    constants: Constants
    vehicle: Vehicle
    launch: Launch
    transfer: Transfer
    loi: Loi
    descent: Descent
    surface: Surface
    sampling: Sampling
    ascent: Ascent
    rvd: Rvd
    sample_transfer: SampleTransfer
    tei: Tei
    reentry: Reentry
    landing: Landing
    reference: Reference
    source: str = "params.toml"

    @property
    def site_gravity_m_s2(self) -> float:
        """Surface gravity at the landing site: GM / r^2 (the scale weighs by it)."""
        c = self.constants
        r_km = c.moon_radius_km + self.mission.landing_elevation_m / 1000.0
        return c.moon_gm_km3_s2 / r_km**2 * 1000.0

    @property
    def epoch(self) -> datetime:
        """Launch epoch as an aware UTC datetime."""
        return _utc(self.mission.launch_epoch)


_ADAPTER = TypeAdapter(MissionParams)


def params_json_schema() -> dict[str, Any]:
    """The JSON Schema of a parameters file (every section, key, type and range)."""
    schema = _ADAPTER.json_schema()
    schema["properties"].pop("source", None)
    schema["title"] = "Mission parameters (params.toml)"
    return schema


def load_params(path: str | Path | None = None, *, defaults: bool = True) -> MissionParams:
    """Load the default parameters, then override them key by key from ``path``.

    With ``defaults=False`` the file at ``path`` must be complete on its own.
    Raises :class:`ParamsError` naming the file and the key on any problem.
    """
    if path is None and not defaults:
        raise ParamsError("load_params: a path is required when defaults=False")
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if defaults:
        _merge(
            merged,
            origin,
            _read(DEFAULT_PARAMS, DEFAULT_PARAMS.name),
            DEFAULT_PARAMS.name,
            strict=False,
            prefix="",
        )
    source = DEFAULT_PARAMS.name
    if path is not None:
        source = str(path)
        _merge(merged, origin, _read(Path(path), source), source, strict=defaults, prefix="")
    try:
        params = _ADAPTER.validate_json(json.dumps(merged, default=str), strict=True)
    except ValidationError as e:
        loc = e.errors()[0]["loc"]
        raise validation_error(origin.get(key_path(loc), source), e, ParamsError) from None
    _cross_checks(params, origin, source)
    return dataclasses.replace(params, source=source)


def _read(path: Path, name: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ParamsError(f"{name}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParamsError(f"{name}: TOML syntax error: {exc}") from None
    except OSError as exc:
        raise ParamsError(f"{name}: cannot read: {exc.strerror}") from None


def _merge(
    dst: dict[str, Any],
    origin: dict[str, str],
    src: dict[str, Any],
    name: str,
    *,
    strict: bool,
    prefix: str,
) -> None:
    """Overlay ``src`` on ``dst``; with ``strict`` every key must already exist."""
    for key, value in src.items():
        dotted = f"{prefix}{key}"
        if strict and key not in dst:
            raise ParamsError(f"{name}: {dotted} is not a known parameter")
        if isinstance(value, dict):
            if strict and not isinstance(dst[key], dict):
                raise ParamsError(f"{name}: {dotted} must be a value, got a table")
            sub = dst.setdefault(key, {})
            _merge(sub, origin, value, name, strict=strict, prefix=f"{dotted}.")
        else:
            if strict and isinstance(dst[key], dict):
                raise ParamsError(f"{name}: {dotted} must be a table, got a value")
            dst[key] = value
            origin[dotted] = name


def _cross_checks(p: MissionParams, origin: dict[str, str], source: str) -> None:
    """Relations between keys that a per-key range cannot express."""
    checks = [
        (
            "descent.min_thrust_n",
            p.descent.min_thrust_n < p.descent.engine_thrust_n,
            "must be < descent.engine_thrust_n",
        ),
        (
            "loi.capture_apoapsis_alt_km",
            p.loi.capture_apoapsis_alt_km > p.loi.capture_periapsis_alt_km,
            "must be > loi.capture_periapsis_alt_km",
        ),
        (
            "ascent.target_apoapsis_alt_km",
            p.ascent.target_apoapsis_alt_km >= p.ascent.target_periapsis_alt_km,
            "must be >= ascent.target_periapsis_alt_km",
        ),
        (
            "rvd.leg_times_s",
            len(p.rvd.leg_times_s) == len(p.rvd.hold_points_m),
            "must have one entry per rvd.hold_points_m (the leg that ends there)",
        ),
        (
            "rvd.closing_max_m_s",
            p.rvd.closing_max_m_s > p.rvd.closing_min_m_s,
            "must be > rvd.closing_min_m_s",
        ),
        (
            "surface.ascent_prep_h",
            p.surface.checkout_h + p.surface.ascent_prep_h < p.surface.stay_h,
            "plus surface.checkout_h must be < surface.stay_h (no time left to sample)",
        ),
        (
            "sampling.min_return_g",
            p.sampling.min_return_g <= p.sampling.target_g,
            "must be <= sampling.target_g",
        ),
        (
            "descent.divert_max_m",
            p.descent.divert_max_m > p.descent.divert_mean_m,
            "must be > descent.divert_mean_m",
        ),
    ]
    for key, ok, text in checks:
        if not ok:
            raise ParamsError(f"{origin.get(key, source)}: {key} {text}")
    times = {"mission.launch_epoch": p.mission.launch_epoch}
    for f in dataclasses.fields(Reference):
        if f.type in ("str", str):
            times[f"reference.{f.name}"] = getattr(p.reference, f.name)
    for key, text in times.items():
        try:
            _utc(text)  # parse once here so a bad time fails at load time
        except ValueError:
            raise ParamsError(
                f"{origin.get(key, source)}: {key} must be an ISO 8601 time, got {text!r}"
            ) from None
