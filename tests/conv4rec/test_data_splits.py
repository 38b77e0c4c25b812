"""Splits: disjoint parts whose union is the data, no leaks, seeded reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import small_interactions

from conv4rec.data import (
    DataError,
    Interactions,
    fixed_split,
    per_user_holdout_mask,
    random_split,
    temporal_split,
    user_fold_in_split,
)


def _keys(data: Interactions) -> np.ndarray:
    """Sorted (user, item, level, timestamp) rows: a multiset fingerprint of the interactions."""
    ts = data.timestamp if data.timestamp is not None else np.zeros(data.n_observed, np.int64)
    rows = np.stack([data.user, data.item, data.level, ts], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def _assert_partition(data: Interactions, *parts: Interactions) -> None:
    """The parts are disjoint in (user, item) and together are exactly ``data``."""
    joined = np.concatenate([_keys(p) for p in parts])
    assert np.array_equal(joined[np.lexsort(joined.T[::-1])], _keys(data))
    pairs = np.concatenate([p.user * data.n_items + p.item for p in parts])
    assert len(np.unique(pairs)) == len(pairs)
    for p in parts:
        assert p.user_ids is data.user_ids and p.item_ids is data.item_ids
        assert np.array_equal(p.levels, data.levels)


def _synthetic(n_users: int = 300, n_items: int = 200, seed: int = 0,
               timestamps: bool = True) -> Interactions:
    """Users with 1..60 distinct items each (so some users have a single interaction)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 61, size=n_users)
    user = np.repeat(np.arange(n_users), counts)
    item = np.concatenate([rng.choice(n_items, size=c, replace=False) for c in counts])
    n = len(user)
    return Interactions(user=user, item=item, level=rng.integers(0, 5, n),
                        levels=np.arange(1.0, 6.0), user_ids=np.arange(n_users),
                        item_ids=np.arange(n_items),
                        timestamp=rng.integers(0, 10**6, n) if timestamps else None,
                        source="synthetic")


DATA = _synthetic()


# --------------------------------------------------------------------------- fixed
def test_fixed_split_follows_the_labels() -> None:
    labels = np.where(np.arange(DATA.n_observed) % 3 == 0, "test", "train")
    split = fixed_split(DATA, labels, name="thirds")
    assert split.name == "thirds"
    assert split.test.n_observed == int((labels == "test").sum())
    _assert_partition(DATA, split.train, split.test)


def test_fixed_split_rejects_unknown_labels_and_empty_parts() -> None:
    labels = np.array(["train"] * DATA.n_observed, dtype=object)
    labels[7] = "valid"
    with pytest.raises(DataError, match=r"synthetic, row 7: split label 'valid' is neither"):
        fixed_split(DATA, labels)
    with pytest.raises(DataError, match="leaves the test part empty"):
        fixed_split(DATA, np.full(DATA.n_observed, "train"))
    with pytest.raises(DataError, match="3 split labels"):
        fixed_split(DATA, ["train", "test", "train"])


# --------------------------------------------------------------------------- random
@given(small_interactions(), st.floats(0.05, 0.95), st.integers(0, 2**31 - 1))
def test_random_split_partitions_and_is_seeded(data, fraction, seed) -> None:
    if data.n_observed < 2:
        with pytest.raises(DataError):
            random_split(data, test_fraction=fraction, seed=seed)
        return
    split = random_split(data, test_fraction=fraction, seed=seed)
    _assert_partition(data, split.train, split.test)
    expected = min(max(int(np.floor(fraction * data.n_observed + 0.5)), 1), data.n_observed - 1)
    assert split.test.n_observed == expected
    again = random_split(data, test_fraction=fraction, seed=seed)
    assert np.array_equal(_keys(again.test), _keys(split.test))


def test_random_split_seeds_differ_and_fraction_is_exact() -> None:
    a = random_split(DATA, test_fraction=0.1, seed=0)
    b = random_split(DATA, test_fraction=0.1, seed=1)
    assert a.name == "random-0"
    assert a.test.n_observed == round(0.1 * DATA.n_observed)
    assert not np.array_equal(_keys(a.test), _keys(b.test))
    with pytest.raises(ValueError, match="test_fraction"):
        random_split(DATA, test_fraction=1.0, seed=0)


# --------------------------------------------------------------------------- strong generalization
@given(small_interactions(max_users=12, max_items=9), st.integers(0, 2**31 - 1))
def test_user_fold_in_split_never_leaks_heldout_users(data, seed) -> None:
    counts = data.counts_per_user()
    eligible = int((counts >= 2).sum())
    if eligible < 1 or np.count_nonzero(counts) < 2:
        return
    split = user_fold_in_split(data, heldout_users=1, seed=seed, min_interactions=2,
                               drop_unseen_items=False)
    held = np.union1d(split.fold_in.user, split.test.user)
    assert len(np.intersect1d(held, split.train.user)) == 0
    assert set(split.fold_in.user.tolist()) == set(split.test.user.tolist()) == set(held.tolist())
    _assert_partition(data, split.train, split.fold_in, split.test)


def test_user_fold_in_split_proportions_and_reproducibility() -> None:
    split = user_fold_in_split(DATA, heldout_users=0.2, seed=3, drop_unseen_items=False)
    again = user_fold_in_split(DATA, heldout_users=0.2, seed=3, drop_unseen_items=False)
    assert np.array_equal(_keys(split.test), _keys(again.test))
    assert split.name == "strong-3"
    held = np.unique(split.test.user)
    counts = DATA.counts_per_user()
    assert len(held) == round(0.2 * (counts >= 5).sum())
    assert np.all(counts[held] >= 5)
    assert len(np.intersect1d(held, split.train.user)) == 0
    n_test = np.bincount(split.test.user, minlength=DATA.n_users)[held]
    n_fold = np.bincount(split.fold_in.user, minlength=DATA.n_users)[held]
    assert np.array_equal(n_test, np.clip(np.floor(0.2 * counts[held] + 0.5), 1, None))
    assert np.all(n_fold >= 1)
    _assert_partition(DATA, split.train, split.fold_in, split.test)


def test_user_fold_in_split_drops_items_unseen_in_train() -> None:
    split = user_fold_in_split(DATA, heldout_users=100, seed=0)
    seen = split.train.counts_per_item() > 0
    assert seen[split.test.item].all() and seen[split.fold_in.item].all()


def test_user_fold_in_split_errors() -> None:
    with pytest.raises(DataError, match="cannot hold out 1000 users"):
        user_fold_in_split(DATA, heldout_users=1000, seed=0)
    with pytest.raises(ValueError, match="fold_in_fraction"):
        user_fold_in_split(DATA, heldout_users=3, seed=0, fold_in_fraction=1.2)


# --------------------------------------------------------------------------- temporal
def test_temporal_split_cuts_at_the_quantile() -> None:
    split = temporal_split(DATA, quantile=0.8)
    assert split.train.timestamp.max() < split.test.timestamp.min()
    assert abs(split.test.n_observed / DATA.n_observed - 0.2) < 0.01
    _assert_partition(DATA, split.train, split.test)


def test_temporal_split_needs_timestamps() -> None:
    with pytest.raises(DataError, match="synthetic: a temporal split needs timestamps"):
        temporal_split(_synthetic(timestamps=False))


# --------------------------------------------------------------------------- per-user holdout
@given(small_interactions(), st.floats(0.0, 0.95), st.integers(0, 2**31 - 1))
def test_holdout_mask_never_takes_all_of_a_user(data, fraction, seed) -> None:
    mask = per_user_holdout_mask(data, fraction, rng=np.random.default_rng(seed))
    assert mask.dtype == bool and mask.shape == (data.n_observed,)
    kept = np.bincount(data.user[~mask], minlength=data.n_users)
    assert np.all(kept[data.counts_per_user() > 0] >= 1)
    again = per_user_holdout_mask(data, fraction, rng=np.random.default_rng(seed))
    assert np.array_equal(mask, again)


def test_holdout_mask_fraction_per_user() -> None:
    counts = DATA.counts_per_user()
    mask = per_user_holdout_mask(DATA, 0.25, rng=np.random.default_rng(0))
    held = np.bincount(DATA.user[mask], minlength=DATA.n_users)
    # stochastic rounding: each user within one of the target, capped at n_u - 1
    assert np.all(np.abs(held - 0.25 * counts) < 1) and np.all(held <= counts - 1)
    assert np.all(held[counts == 1] == 0)
    # the total is a sum of independent roundings: sd <= sqrt(n_users) / 2 ~ 8.7 here
    assert abs(held.sum() - 0.25 * counts.sum()) < 5 * np.sqrt(DATA.n_users) / 2
    assert not per_user_holdout_mask(DATA, 0.0, rng=np.random.default_rng(0)).any()
    with pytest.raises(ValueError, match="fraction"):
        per_user_holdout_mask(DATA, 1.0, rng=np.random.default_rng(0))
