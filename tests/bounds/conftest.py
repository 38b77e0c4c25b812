"""Bounds tests run torch on one thread: their models are tiny, and on a busy two-core machine
the intra-op thread pool costs far more than it saves."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
