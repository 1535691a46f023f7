"""The command dictionary the page and the server check commands against."""

from __future__ import annotations

from typing import Any


def load_dictionary() -> dict[str, Any]:
    """The project's command/telemetry dictionary as JSON-ready data."""
    from lunasample import dictionary

    return dict(dictionary.as_json())
