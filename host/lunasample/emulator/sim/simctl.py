# The emulator host's commands on the control channel (JSON lines): fault
# switches, speed, state queries, power cuts, plant settings. Imported by
# simworld at the first command, so a world without a host costs nothing.
import simworld as _w


def handle(msg):
    op = msg.get("op")
    if op == "fault":
        if msg["name"] == "power_cut_on_write":
            _w.writes_left = int(msg.get("value", 1))
        if msg.get("value", 1):
            _w.faults[msg["name"]] = msg.get("value", 1)
            _w.fault_on_us[msg["name"]] = _w.vt_us
        elif msg["name"] in _w.faults:
            del _w.faults[msg["name"]]
        if _w.pads is not None and _w.pads.irqs:
            _w.pads.check_irqs()  # an input the fault moved: its edge now
    elif op == "run":
        # Lockstep: let msg["us"] more microseconds of virtual time pass.
        _w.until_us = _w.vt_us + int(msg["us"])
    elif op == "speed":
        _w.set_speed(float(msg["value"]))
    elif op == "query":
        _w.send(
            {
                "op": "reply",
                "id": msg.get("id"),
                "t_us": _w.vt_us,
                "plants": _w.snapshot(),
                "faults": _w.faults,
                "fault_on_us": _w.fault_on_us,
                "last_actuation_us": _w.last_actuation_us,
                "pads": _w.pads.report() if _w.pads else {},
            }
        )
    elif op == "power_cut":
        _w.power_cut("brownout", 1)
    elif op == "plant":
        _w.config.setdefault("plant", {}).update(msg.get("values", {}))
        for p in _w.plants:
            c = getattr(p, "configure", None)
            if c is not None:
                c(_w.config["plant"])
    else:
        _w.send({"op": "error", "text": "unknown op " + str(op)})
