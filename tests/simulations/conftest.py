"""Fixtures of the simulation tests; this folder's slow tests run only with ``-m slow``."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulation_configs import tiny_config


@pytest.fixture
def tiny():
    return tiny_config()


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Skip this folder's ``slow`` tests unless the run selects them (``-m slow``, as
    ``make test-slow`` does), so that the default suite stays fast."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `-m slow` (make test-slow)")
    for item in items:
        if "slow" in item.keywords and _HERE in item.path.parents:
            item.add_marker(skip)
