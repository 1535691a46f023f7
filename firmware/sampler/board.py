# The board description (board.json, copied from boards/ when flashing):
# pins, limits, loop rate. Read once at boot.
import json

_FILE = "board.json"


def load():
    """Return the board dict; a missing or broken file is a clear error."""
    try:
        with open(_FILE) as f:
            b = json.load(f)
    except OSError:
        raise RuntimeError("board.json missing: flash with `lunasample flash --board NAME`")
    except ValueError:
        raise RuntimeError("board.json is not valid JSON")
    for k in ("name", "loop_hz", "pins", "limits"):
        if k not in b:
            raise RuntimeError("board.json: missing key " + k)
    flatten(b)
    return b


def flatten(b):
    """The pin objects ({"gpio": n, "role": ...}) as b["wiring"], and
    b["pins"] as name -> GPIO number, which is what most code needs."""
    pins = b["pins"]
    wiring = b.get("wiring") or {}
    for name in pins:
        w = pins[name]
        if isinstance(w, dict):
            wiring[name] = w
            pins[name] = w["gpio"]
        elif name not in wiring:
            wiring[name] = {"gpio": w}
    b["wiring"] = wiring


def step_hz(b, name):
    """The rate subsystem `name` steps at: its "step_hz" entry, a divisor of
    loop_hz, else every loop tick."""
    hz = b["loop_hz"]
    r = b.get("step_hz", {}).get(name)
    if not r:
        return hz
    if not 0 < r <= hz or hz % r:
        raise RuntimeError("board.json: step_hz %s=%s must divide loop_hz" % (name, r))
    return r
