"""Board files against the rules of their chip, board and parts (boards/parts.json).

Each violation is one line naming the file, the pin, its GPIO, the rule and
the rule's source, so a rig wired from a file that passes is wired the way
the silicon allows.
"""

from __future__ import annotations

from typing import Any

# The signals each subsystem drives or reads; the e-stop loop is the core's.
REQUIRED = {
    "core": ("estop",),
    "drill": (
        "drill_pwm",
        "drill_dir",
        "drill_enc_a",
        "drill_enc_b",
        "drill_isense",
        "feed_step",
        "feed_dir",
        "feed_home",
    ),
    "arm": (
        "j1_step",
        "j1_dir",
        "j1_home",
        "j2_step",
        "j2_dir",
        "j2_home",
        "j3_step",
        "j3_dir",
        "j3_home",
        "scoop_pwm",
        "arm_isense",
    ),
    "scale": ("hx711_sck", "hx711_dout"),
}
_DRIVES = ("output", "pwm", "pio")
_READS = ("input", "irq")


def _is_switch(name: str) -> bool:
    return name == "estop" or name.endswith("_home") or name.endswith("_limit")


def check_board(raw: dict[str, Any], where: str, parts: dict[str, Any] | None = None) -> list[str]:
    """Every rule the board file (as written: pins as objects) breaks, one line each."""
    if parts is None:
        from lunasample.hardware.loader import load_parts

        parts = load_parts()
    out: list[str] = []
    chip = parts["chips"].get(raw["mcu"], {})
    board_rules = parts.get("boards", {}).get(raw.get("module") or "", {})
    pins: dict[str, dict[str, Any]] = raw["pins"]

    def bad(name: str, rule: str, source: str) -> None:
        g = pins[name]["gpio"]
        out.append(f"{where}: pins.{name} (GPIO {g}): {rule} [{source}]")

    def in_rule(key: str, g: int) -> bool:
        return g in chip.get(key, {}).get("pins", [])

    seen: dict[int, str] = {}
    lo, hi = chip.get("gpio", [0, 63])
    for name, w in pins.items():
        g, role = w["gpio"], w["role"]
        if g in seen:
            bad(name, f"GPIO {g} is also {seen[g]}", "one signal per pin")
        seen[g] = name
        if not lo <= g <= hi or in_rule("absent", g):
            src = chip.get("absent", {}).get("source", raw["mcu"] + " datasheet")
            bad(name, f"{raw['mcu']} has no GPIO {g}", src)
            continue
        for key, what in (("flash", "wired to the SPI flash"), ("uart0", "the REPL's UART")):
            if in_rule(key, g):
                bad(name, f"GPIO {g} is {what}", chip[key]["source"])
        if in_rule("input_only", g):
            src = chip["input_only"]["source"]
            if role in _DRIVES:
                bad(name, f"role {role}: GPIO {g} is input-only", src)
            if w.get("pull") in ("up", "down"):
                bad(name, f"pull {w['pull']}: GPIO {g} has no internal pulls (use external)", src)
        strap = chip.get("strapping", {}).get("pins", {}).get(str(g))
        if strap and role in strap["forbid"]:
            bad(
                name,
                f"role {role} on strapping pin {g}: {strap['why']}",
                chip["strapping"]["source"],
            )
        psram = chip.get("psram", {})
        if g in psram.get("pins", []) and raw.get("module") in psram.get("modules", []):
            bad(name, f"GPIO {g} drives the PSRAM on {raw['module']}", psram["source"])
        if role == "irq" and in_rule("irq_errata", g):
            bad(
                name, "an interrupt on GPIO36/39 sees spurious edges", chip["irq_errata"]["source"]
            )
        reserved = board_rules.get("reserved", {})
        allowed = board_rules.get("allow", {}).get(str(g), [])
        if g in reserved.get("pins", []) and role not in allowed:
            bad(name, f"GPIO {g} is used by the {raw.get('module')} board", reserved["source"])
        if role == "adc":
            adc = chip.get("adc", {})
            if g not in adc.get("pins", []):
                bad(name, f"GPIO {g} has no usable ADC channel", adc.get("source", "datasheet"))
            steps = chip.get("adc_atten_db")
            db = w.get("atten_db")
            src = chip.get("adc_range_mv", {}).get("source", "datasheet")
            if steps is not None and db is None:
                bad(name, "ADC without atten_db reads only ~0-1 V (0 dB)", src)
            elif steps is not None and db not in steps:
                bad(name, f"atten_db {db} is not one of {steps}", src)
            elif steps is None and db is not None:
                bad(name, f"{raw['mcu']} has no ADC attenuation", src)
        elif w.get("atten_db") is not None:
            bad(name, f"atten_db on a pin of role {role}", "only ADC pins take an attenuation")
        if _is_switch(name):
            safe = w.get("contact") == "NC" and w.get("pull") in ("up", "external")
            if role not in _READS or not safe:
                bad(
                    name,
                    "a safety switch must be an NC contact read with a pull-up "
                    "(open or a cut wire must read as tripped)",
                    "IEC 60204-1 9.4.3 (fail-safe) / ISO 13849-1 (positive opening)",
                )
    # RP2040: the two channels of a PWM slice share one frequency.
    if "pwm_slices" in chip:
        slices: dict[int, str] = {}
        for name, w in pins.items():
            if w["role"] == "pwm":
                s = (w["gpio"] >> 1) & 7
                if s in slices:
                    bad(
                        name,
                        f"PWM slice {s} is shared with {slices[s]}",
                        chip["pwm_slices"]["source"],
                    )
                slices[s] = name
    # The step generator sets and clears STEP/DIR with one word written to
    # the GPIO set/clear registers (gpio_out), kept a small int: GPIO0-29.
    if raw.get("gpio_out"):
        for name, w in pins.items():
            axis = name.rsplit("_", 1)[0]
            stepper = name.endswith("_step") or (name.endswith("_dir") and f"{axis}_step" in pins)
            if stepper and w["gpio"] >= 30:
                bad(
                    name,
                    "STEP/DIR must be below GPIO30 (one-word GPIO_OUT set/clear writes)",
                    "firmware/sampler/stepgen.py; ESP32 TRM 4.10 GPIO_OUT_W1TS: GPIO0-31",
                )
    # Step drivers: every step axis names a known driver.
    known = parts.get("drivers", {})
    for name in pins:
        if name.endswith("_step"):
            axis = name[: -len("_step")]
            d = raw.get("drivers", {}).get(axis)
            if d not in known:
                bad(
                    name,
                    f"drivers.{axis}: name the step driver ({', '.join(known)})",
                    "its minimum STEP pulse and DIR set-up time come from its datasheet",
                )
    # Home switches: on a step axis, an NC switch input, the hard stop beyond the trip point.
    for axis, h in (raw.get("homing") or {}).items():
        sw = pins.get(h["switch"], {})
        if f"{axis}_step" not in pins or f"{axis}_dir" not in pins:
            out.append(f"{where}: homing.{axis}: no {axis}_step and {axis}_dir pins")
        if sw.get("contact") != "NC":
            out.append(f"{where}: homing.{axis}.switch {h['switch']!r}: not an NC switch input")
        if not (h["rest"] < h["trip"] < h["stop"] or h["rest"] > h["trip"] > h["stop"]):
            out.append(f"{where}: homing.{axis}: rest, trip and stop not in travel order")
    # The HX711's RATE: driven by a declared output, or strapped on the board.
    subs = ["core", *raw.get("subsystems", [])]
    hx = raw.get("hx711")
    src = parts.get("hx711", {}).get("rate_source", "HX711 datasheet")
    if "scale" in subs:
        if hx is None:
            out.append(f"{where}: hx711: rate_sps and rate_pin (or rate_strap) missing [{src}]")
        elif hx.get("rate_pin"):
            rp = pins.get(hx["rate_pin"])
            if rp is None or rp["role"] != "output":
                out.append(
                    f"{where}: hx711.rate_pin {hx['rate_pin']!r}: not an output pin [{src}]"
                )
        elif hx.get("rate_strap") != ("high" if hx["rate_sps"] == 80 else "low"):
            out.append(
                f"{where}: hx711: rate_sps {hx['rate_sps']} needs rate_pin, or rate_strap "
                f"{'high' if hx['rate_sps'] == 80 else 'low'} [{src}]"
            )
    for sub in subs:
        for need in REQUIRED.get(sub, ()):
            if need not in pins:
                out.append(f"{where}: pins.{need}: missing (the {sub} subsystem uses it)")
    return out
