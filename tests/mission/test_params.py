"""Parameter loading: defaults, key-by-key overrides, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lunasample.errors import UserError
from lunasample.mission.params import DEFAULT_PARAMS, ParamsError, load_params


def test_defaults_hold_the_reference_figures(params) -> None:
    assert params.reference.ce6_sample_g == 1935.3
    assert params.reference.ce5_sample_g == 1731.0
    assert params.mission.landing_lat_deg == pytest.approx(-41.6385)
    assert params.mission.landing_elevation_m == -5256.0
    assert params.descent.engine_thrust_n == 7500.0
    assert params.ascent.engine_thrust_n == 3000.0
    assert params.constants.moon_gm_km3_s2 == 4902.8
    assert params.epoch.year == 2024


def test_override_changes_only_the_given_keys(tmp_path: Path, params) -> None:
    f = tmp_path / "mine.toml"
    f.write_text("[descent]\nengine_thrust_n = 8000\n\n[sampling.surrogate]\nmax_scoops = 12\n")
    mine = load_params(f)
    assert mine.descent.engine_thrust_n == 8000.0
    assert mine.sampling.surrogate.max_scoops == 12
    assert mine.descent.isp_s == params.descent.isp_s
    assert mine.source == str(f)


def _error(tmp_path: Path, text: str, **kw) -> str:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ParamsError) as info:
        load_params(f, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{f}: ")
    return message


def test_out_of_range_names_file_and_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[descent]\nengine_thrust_n = -5\n")
    assert msg.endswith("descent.engine_thrust_n: Input should be greater than 0, got -5")


def test_wrong_type(tmp_path: Path) -> None:
    msg = _error(tmp_path, '[ascent]\nisp_s = "high"\n')
    assert "ascent.isp_s: Input should be a valid number, got 'high'" in msg


def test_integer_required(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[sampling.surrogate]\nmax_scoops = 2.5\n")
    assert "sampling.surrogate.max_scoops: Input should be a valid integer" in msg


def test_unknown_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[descent]\nengine_thrust = 7000\n")
    assert "descent.engine_thrust is not a known parameter" in msg


def test_syntax_error(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[descent\nengine_thrust_n = 1\n")
    assert "TOML syntax error" in msg


def test_missing_key_in_complete_file(tmp_path: Path) -> None:
    text = DEFAULT_PARAMS.read_text().replace("hover_alt_m = 100.0", "")
    msg = _error(tmp_path, text, defaults=False)
    assert msg.endswith("descent.hover_alt_m: Field required")


def test_cross_field_check(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[descent]\nmin_thrust_n = 9000\n")
    assert "descent.min_thrust_n must be < descent.engine_thrust_n" in msg


def test_probability_above_one(tmp_path: Path) -> None:
    msg = _error(tmp_path, "[launch]\nfailure_prob = 1.5\n")
    assert "launch.failure_prob: Input should be less than or equal to 1, got 1.5" in msg


def test_bad_epoch(tmp_path: Path) -> None:
    msg = _error(tmp_path, '[mission]\nlaunch_epoch = "yesterday"\n')
    assert "mission.launch_epoch must be an ISO 8601 time" in msg


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_params(tmp_path / "nope.toml")
