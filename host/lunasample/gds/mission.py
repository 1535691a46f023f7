"""`lunasample gds --mission`: fly a mission whose sampling runs on the station's board.

The mission runs on its own thread through the link the station already
holds, so the page shows the campaign's telemetry and events as they
happen, and its E-STOP stops the board mid-campaign. The timeline panel
follows the phases as the runner reports them and gets the full rows
(times, status, key figures) when the mission ends.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from lunasample.emulator.board import EmulatedBoard
from lunasample.errors import UserError
from lunasample.gds.linkthread import Message
from lunasample.gds.station import Station
from lunasample.mission.flight import PHASES
from lunasample.mission.params import load_params
from lunasample.mission.runner import run_mission
from lunasample.mission.sampling_board import board_sampler
from lunasample.preflight import ensure_calibrated
from lunasample.report.timeline import timeline_rows
from lunasample.session import Session

log = logging.getLogger(__name__)


def _running(source: str, current: str, fraction: float) -> Message:
    idx = PHASES.index(current) if current in PHASES else -1
    rows = [
        {"phase": name, "status": "done" if i < idx else "running" if i == idx else ""}
        for i, name in enumerate(PHASES)
    ]
    return {
        "type": "timeline",
        "source": source,
        "phases": rows,
        "success": None,
        "running": current,
        "fraction": round(fraction, 3),
        "error": None,
    }


def fly(
    station: Station,
    board: EmulatedBoard | None,
    seed: int,
    params_path: Path | None = None,
    connect_timeout_s: float = 30.0,
) -> None:
    """Fly one mission on the station's link; publish its timeline as it goes."""
    source = f"mission seed {seed}"
    params = load_params(params_path)
    deadline = time.monotonic() + connect_timeout_s
    while station.link.state != "up" or station.link.link is None:
        if time.monotonic() > deadline:
            station.publish(
                {
                    "type": "timeline",
                    "source": source,
                    "phases": [],
                    "error": "no board to sample with",
                }
            )
            return
        time.sleep(0.1)
    link = station.link.link
    station.publish(_running(source, PHASES[0], 0.0))
    try:
        session = Session(link, board)
        ensure_calibrated(session)
        result = run_mission(
            params,
            board_sampler(session, params),
            seed,
            lambda phase, frac: station.publish(_running(source, phase, frac)),
        )
    except UserError as e:
        log.warning("mission stopped: %s", e)
        station.publish(
            {"type": "timeline", "source": source, "phases": [], "error": f"mission stopped: {e}"}
        )
        return
    station.publish(
        {
            "type": "timeline",
            "source": source,
            "phases": timeline_rows(result),
            "success": result.success,
            "returned_g": round(result.returned_g, 1),
            "error": None,
        }
    )


def start(
    station: Station, board: EmulatedBoard | None, seed: int, params_path: Path | None = None
) -> threading.Thread:
    """fly() on a daemon thread."""
    t = threading.Thread(
        target=fly, args=(station, board, seed, params_path), name="gds-mission", daemon=True
    )
    t.start()
    return t
