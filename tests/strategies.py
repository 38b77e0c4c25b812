"""Hypothesis strategies shared by the test modules."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conv4rec.config import ACTIVATIONS, Conv4RecConfig
from conv4rec.data import Interactions


@st.composite
def small_configs(draw, **fixed) -> Conv4RecConfig:
    """Small model configurations over every architectural option."""
    fields = dict(
        in_channels=draw(st.integers(1, 4)),
        hidden=tuple(draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))),
        out_channels=draw(st.integers(1, 4)),
        activation=draw(st.sampled_from(ACTIVATIONS)),
        decoder_activation=draw(st.sampled_from(("identity", "relu", "tanh"))),
        input_scaling=draw(st.sampled_from(("none", "sqrt", "mean"))),
        item_bias=draw(st.booleans()),
    )
    fields.update(fixed)
    return Conv4RecConfig(**fields)


@st.composite
def small_interactions(draw, max_users: int = 8, max_items: int = 7, max_levels: int = 5,
                       min_per_user: int = 1) -> Interactions:
    """A random interaction set: every user has >= min_per_user distinct items."""
    n_users = draw(st.integers(1, max_users))
    n_items = draw(st.integers(max(2, min_per_user), max_items))
    n_levels = draw(st.integers(1, max_levels))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(n_users):
        k = int(rng.integers(min_per_user, n_items + 1))
        users.append(np.full(k, u))
        items.append(rng.choice(n_items, size=k, replace=False))
    user, item = np.concatenate(users), np.concatenate(items)
    levels = np.sort(rng.choice(np.arange(1, 101) / 2.0, size=n_levels, replace=False))
    return Interactions(user=user, item=item, level=rng.integers(0, n_levels, size=len(user)),
                        levels=levels, user_ids=np.arange(n_users), item_ids=np.arange(n_items))
