"""Rig descriptions: the shipped rigs load; every kind of mistake is one UserError line
naming the file, the key path and the rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lunasample.errors import UserError
from lunasample.rigs import registry, schema

EMU = (schema.RIGS_DIR / "emulator" / "rig.toml").read_text()


@pytest.mark.parametrize("name", ["emulator", "rp2040_bench", "esp32_bench"])
def test_shipped_rigs_load_and_have_a_readme(name: str) -> None:
    rig = schema.load_rig(name)
    assert rig.name == name
    assert rig.wiring and all(rig.board["pins"][k] == v for k, v in rig.wiring.items())
    assert rig.loadcell["calibration_weight_g"] <= rig.loadcell["capacity_g"]
    readme = (schema.RIGS_DIR / name / "README.md").read_text()
    assert "| " in readme and "```" in readme  # a wiring table and a text diagram


def test_rig_values_override_procedure_defaults() -> None:
    rig = schema.load_rig("emulator")
    soak = registry.get("link_soak")
    s = rig.settings_for(soak)
    assert s["minutes"] == 0.25 and s["minutes"] != soak.settings["minutes"].default
    assert s["max_lost_frames"] == soak.limits["max_lost_frames"].default
    assert set(s) == set(soak.keys)


def _table(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"[{name}]\n")
    nxt = text.find("\n[", start + 1)
    return start, len(text) if nxt < 0 else nxt + 1


def _set(text: str, table: str, key: str, value: str) -> str:
    """Set `key = value` inside [table] (replacing the line when it is there)."""
    a, b = _table(text, table)
    body = text[a:b]
    pat = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    body = (
        pat.sub(f"{key} = {value}", body)
        if pat.search(body)
        else body.rstrip("\n") + f"\n{key} = {value}\n\n"
    )
    return text[:a] + body + text[b:]


def _drop(text: str, table: str, key: str) -> str:
    a, b = _table(text, table)
    body = re.sub(rf"^{re.escape(key)} = .*\n", "", text[a:b], flags=re.M)
    return text[:a] + body + text[b:]


def _cut(text: str, table: str) -> str:
    a, b = _table(text, table)
    return text[:a] + text[b:]


BAD = [
    ("unknown table", EMU + "\n[spaceship]\nx = 1\n", "spaceship"),
    ("unknown key", _set(EMU, "loadcell", "capasity_g", "5"), "loadcell.capasity_g"),
    ("wrong type", _set(EMU, "loadcell", "capacity_g", '"five"'), "loadcell.capacity_g"),
    ("not positive", _set(EMU, "safety", "max_depth_mm", "0"), "safety.max_depth_mm"),
    ("missing key", _drop(EMU, "safety", "max_depth_mm"), "safety.max_depth_mm"),
    ("missing table", _cut(EMU, "container"), "container"),
    (
        "negative weight",
        _set(EMU, "loadcell", "reference_weights_g", "[100, -5]"),
        "reference_weights_g",
    ),
    (
        "weight over capacity",
        _set(EMU, "loadcell", "reference_weights_g", "[100, 9000]"),
        "reference_weights_g",
    ),
    ("bad choice", _set(EMU, "loadcell", "rate_sps", "40"), "loadcell.rate_sps"),
    ("rate not the board's RATE pin", _set(EMU, "loadcell", "rate_sps", "10"), "RATE pin"),
    ("wiring on the wrong GPIO", _set(EMU, "wiring", "drill_pwm", "3"), "wiring.drill_pwm"),
    ("wiring of a pin the board lacks", _set(EMU, "wiring", "nose_led", "1"), "wiring.nose_led"),
    ("unknown board", _set(EMU, "rig", "board", '"arduino_uno"'), "rig.board"),
    ("unknown motor", EMU + '\n[motors.wheel]\nkind = "dc"\n', "motors.wheel"),
    ("bad motor kind", _set(EMU, "motors.drill", "kind", '"jet"'), "motors.drill.kind"),
    (
        "safety over the motor rating",
        _set(EMU, "safety", "max_drill_rpm", "900"),
        "safety.max_drill_rpm",
    ),
    ("unknown procedure", EMU + "\n[procedure.teleport]\nx = 1\n", "procedure.teleport"),
    (
        "unknown procedure key",
        _set(EMU, "procedure.link_soak", "minuts", "3"),
        "procedure.link_soak.minuts",
    ),
    (
        "procedure value out of range",
        _set(EMU, "procedure.link_soak", "rate_hz", "1000"),
        "procedure.link_soak.rate_hz",
    ),
    (
        "integer setting given a fraction",
        _set(EMU, "procedure.estop_latency", "repetitions", "2.5"),
        "procedure.estop_latency.repetitions",
    ),
    (
        "fault that is not a number",
        EMU + '\n[emulator.faults]\nhx711_stuck = "yes"\n',
        "emulator.faults.hx711_stuck",
    ),
    (
        "container over the cell",
        _set(EMU, "container", "capacity_g", "4900"),
        "container.capacity_g",
    ),
    ("invalid TOML", EMU + "\n[loadcell\n", "invalid TOML"),
]


@pytest.mark.parametrize("what, text, key", BAD, ids=[b[0] for b in BAD])
def test_each_kind_of_mistake_names_the_file_and_the_key(
    tmp_path: Path, what: str, text: str, key: str
) -> None:
    p = tmp_path / "rig.toml"
    p.write_text(text)
    with pytest.raises(UserError) as e:
        schema.load_rig(p)
    msg = str(e.value)
    assert str(p) in msg and key in msg, msg
    assert "\n" not in msg


def test_the_unchanged_copy_loads(tmp_path: Path) -> None:
    # The mistakes above are the only difference from a good file.
    p = tmp_path / "rig.toml"
    p.write_text(EMU)
    assert schema.load_rig(p).name == "emulator"
    assert schema.load_rig(tmp_path).path == p


def test_unknown_rig_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match="unknown rig 'nope'.*rp2040_bench"):
        schema.load_rig("nope")


def test_every_procedure_is_discovered_with_limits_on_figures() -> None:
    procs = registry.procedures()
    assert {
        "link_soak",
        "estop_latency",
        "scale_calibration",
        "scale_linearity",
        "drill_step",
        "drill_jam",
        "arm_repeatability",
        "scoop_repeatability",
    } <= set(procs)
    for p in procs.values():
        assert p.title and p.limits
        assert all(k.startswith(("max_", "min_")) for k in p.limits)
        assert all(s.lo <= s.default <= s.hi for s in p.keys.values())
    with pytest.raises(UserError, match="unknown procedure 'fly'"):
        registry.get("fly")
