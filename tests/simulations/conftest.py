"""Fixtures of the simulation tests."""

from __future__ import annotations

import pytest
from simulation_configs import tiny_config


@pytest.fixture
def tiny():
    return tiny_config()
