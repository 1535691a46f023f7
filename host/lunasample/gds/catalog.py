"""The command dictionary the page and the server check commands against."""

from __future__ import annotations

from typing import Any

from lunasample import dictionary


def load_dictionary() -> dict[str, Any]:
    """The project's command/telemetry dictionary as JSON-ready data, each
    integer argument with the range the dictionary's check_args applies
    (an argument without bounds still has the wire's +-2^30)."""
    d = dictionary.load()
    out = dict(dictionary.as_json())
    for cmd in out["commands"]:
        source = {a["name"]: a for a in d.command(cmd["name"])["args"]}
        for arg in cmd["args"]:
            if arg["type"] == "int":
                arg["min"], arg["max"] = d.arg_range(source[arg["name"]])
    return out
