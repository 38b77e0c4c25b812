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


# ------------------------------------------------------------------ simulations
@st.composite
def distributions(draw, min_size: int = 1, max_size: int = 8, n: int = 1,
                  allow_zeros: bool = True) -> np.ndarray:
    """``n`` probability vectors over the same ``K`` outcomes, shape (n, K), float64.

    Some entries may be exactly zero (when ``allow_zeros``); every row sums to 1.
    """
    k = draw(st.integers(min_size, max_size))
    low = 0.0 if allow_zeros else 1e-3
    rows = []
    for _ in range(n):
        w = np.array(draw(st.lists(st.floats(low, 1.0), min_size=k, max_size=k)))
        if w.sum() <= 0:
            w[draw(st.integers(0, k - 1))] = 1.0
        rows.append(w / w.sum())
    return np.array(rows)


@st.composite
def joint_log_probs(draw, max_users: int = 4, max_items: int = 5, max_levels: int = 3,
                    n: int = 2, allow_zeros: bool = True) -> list[np.ndarray]:
    """``n`` arrays of log-probabilities of the same shape (n_users, n_items, n_levels), each
    user's exp summing to 1; the first may have exact zeros (log = -inf)."""
    shape = (draw(st.integers(1, max_users)), draw(st.integers(1, max_items)),
             draw(st.integers(1, max_levels)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        w = rng.gamma(draw(st.sampled_from((0.1, 1.0, 10.0))), size=shape)
        if k == 0 and allow_zeros and draw(st.booleans()):
            w = np.where(rng.random(shape) < 0.3, 0.0, w)
        flat = w.reshape(shape[0], -1)
        empty = flat.sum(axis=1) == 0
        flat[empty, 0] = 1.0
        with np.errstate(divide="ignore"):
            out.append(np.log(flat / flat.sum(axis=1, keepdims=True)).reshape(shape))
    return out


def rating_scales():
    """Rating scales: 1..5, half stars, a gapped 1..100 subset, implicit-only (one level)."""
    return st.one_of(
        st.just((1.0, 2.0, 3.0, 4.0, 5.0)),
        st.just(tuple(np.arange(1, 11) / 2.0)),
        st.lists(st.integers(1, 100), min_size=2, max_size=6, unique=True).map(
            lambda v: tuple(float(x) for x in sorted(v))),
        st.just((1.0,)),
    )
