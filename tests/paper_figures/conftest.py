"""Fixtures of the paper_figures tests: the tiny cache of ``fixture_cache.py``, built once."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_cache import write_benchmark, write_sweeps


@pytest.fixture(scope="session")
def fixture_cache(tmp_path_factory) -> Path:
    """A results root holding every cache the figures read at the small size."""
    root = tmp_path_factory.mktemp("results")
    write_sweeps(root)
    write_benchmark(root)
    return root
