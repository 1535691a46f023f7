"""Shared fixtures for the mission tests."""

from __future__ import annotations

import pytest

from lunasample.mission.params import MissionParams, load_params


@pytest.fixture(scope="session")
def params() -> MissionParams:
    return load_params()
