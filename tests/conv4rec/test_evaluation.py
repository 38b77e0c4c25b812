"""Evaluation protocols: hand-computed metrics, ties, popularity weighting, leakage, tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats
import torch
from hypothesis import given
from hypothesis import strategies as st

from conv4rec.config import Conv4RecConfig
from conv4rec.data import Interactions, from_arrays, temporal_split, user_fold_in_split
from conv4rec.estimator import Conv4RecEstimator
from conv4rec.evaluation import (
    conv4rec_fold_in_scores,
    evaluate_explicit,
    evaluate_ranking,
    evaluate_strong,
    explicit_breakdown,
    explicit_per_user,
    known_test,
    paired_test,
    popularity_weights,
    ranking_per_user,
    summarize,
)
from conv4rec.metrics import ndcg_at_k, recall_at_k


def _data(users, items, ratings=None, *, n_users=None, n_items=None) -> Interactions:
    """Interactions with index = raw id, levels 1..5 (ratings default to 1)."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    n_users = n_users or int(users.max()) + 1
    n_items = n_items or int(items.max()) + 1
    ratings = np.ones(len(users)) if ratings is None else np.asarray(ratings)
    return Interactions(user=users, item=items, level=ratings.astype(np.int64) - 1,
                        levels=[1, 2, 3, 4, 5], user_ids=np.arange(n_users),
                        item_ids=np.arange(n_items))


def _fixed_scores(matrix):
    matrix = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
    return lambda users: matrix[torch.as_tensor(np.asarray(users))]


def test_explicit_hand_example():
    test = _data([0, 0, 1], [0, 1, 1], [1, 2, 5])
    pred = {(0, 0): 2.0, (0, 1): 2.0, (1, 1): 3.0}
    fn = lambda u, i: np.array([pred[(a, b)] for a, b in zip(u, i)])
    m = evaluate_explicit(fn, test)
    assert math.isclose(m["rmse"], math.sqrt((1 + 0 + 4) / 3))
    assert math.isclose(m["mae"], (1 + 0 + 2) / 3)
    users, per_user = explicit_per_user(fn, test)
    assert users.tolist() == [0, 1]
    np.testing.assert_allclose(per_user["mse"], [0.5, 4.0])
    np.testing.assert_allclose(per_user["mae"], [0.5, 2.0])


def test_explicit_breakdown_hand_example():
    # training counts: item 0 has 3 ratings, item 1 one, item 2 none; user 0 has 3, user 1 one
    train = _data([0, 0, 0, 1], [0, 0, 1, 0], [3, 3, 3, 3], n_items=3)
    test = _data([0, 1, 1], [2, 1, 0], [1, 2, 5])
    fn = lambda u, i: np.full(len(u), 3.0)  # errors -2, 1, -2 (test items 2, 1, 0)
    rows = explicit_breakdown(fn, train, test, n_bins=3)
    by_item = [(r["lo"], r["hi"], r["n"], r["rmse"]) for r in rows if r["by"] == "item"]
    assert by_item == [(0, 0, 1, 2.0), (1, 1, 1, 1.0), (3, 3, 1, 2.0)]
    by_user = [(r["lo"], r["hi"], r["n"], r["rmse"]) for r in rows if r["by"] == "user"]
    assert by_user == [(1, 1, 2, pytest.approx(math.sqrt(2.5))), (3, 3, 1, 2.0)]


def test_ranking_hand_example_matches_metrics():
    # user 0: ranking 0 > 1 > 2 > 3 > 4, item 1 seen; relevant 2 and 4 -> ranks 2 and 4.
    known = _data([0, 1], [1, 0], n_users=2, n_items=5)
    test = _data([0, 0, 1], [2, 4, 3], n_users=2, n_items=5)
    scores = [[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]]
    res = ranking_per_user(_fixed_scores(scores), known, test, recall_ks=(2, 4), ndcg_ks=(4,))
    assert res.values["recall@2"][0] == 0.5 and res.values["recall@4"][0] == 1.0
    dcg, idcg = 1 / math.log2(3) + 1 / math.log2(5), 1 + 1 / math.log2(3)
    assert math.isclose(res.values["ndcg@4"][0], dcg / idcg)
    # user 1 ranks item 4, 3 first (0 is seen): the single relevant item 3 is at rank 2.
    assert res.values["recall@2"][1] == 1.0
    assert math.isclose(res.values["ndcg@4"][1], 1 / math.log2(3))
    means = evaluate_ranking(_fixed_scores(scores), known, test, recall_ks=(2, 4), ndcg_ks=(4,))
    assert math.isclose(means["recall@2"], 0.75)


@given(st.integers(0, 10_000), st.integers(1, 8))
def test_ranking_agrees_with_metric_functions(seed, k):
    rng = np.random.default_rng(seed)
    n_users, n_items = 6, 12
    scores = torch.as_tensor(rng.integers(0, 4, (n_users, n_items)).astype(np.float32))
    seen = rng.random((n_users, n_items)) < 0.3
    rel = (rng.random((n_users, n_items)) < 0.3) & ~seen
    rel[:, 0] |= ~rel.any(1) & ~seen[:, 0]
    ku, ki = np.nonzero(seen)
    tu, ti = np.nonzero(rel)
    known = _data(ku, ki, n_users=n_users, n_items=n_items)
    test = _data(tu, ti, n_users=n_users, n_items=n_items)
    res = ranking_per_user(lambda u: scores[u], known, test, recall_ks=(k,), ndcg_ks=(k,))
    relevant = sp.csr_matrix(rel.astype(np.float32))[res.users]
    excl = torch.as_tensor(seen[res.users])
    np.testing.assert_allclose(res.values[f"recall@{k}"],
                               recall_at_k(scores[res.users], relevant, k, excl))
    np.testing.assert_allclose(res.values[f"ndcg@{k}"],
                               ndcg_at_k(scores[res.users], relevant, k, excl))


def test_perfect_ranking_scores_one():
    rng = np.random.default_rng(0)
    rel = rng.random((5, 30)) < 0.2
    rel[:, 0] = True
    tu, ti = np.nonzero(rel)
    known = _data([], [], n_users=5, n_items=30)
    test = _data(tu, ti, n_users=5, n_items=30)
    res = ranking_per_user(_fixed_scores(rel.astype(float)), known, test, recall_ks=(1, 5, 50),
                           ndcg_ks=(3, 100), popularity=np.arange(30) + 1, pop_betas=(1.0,))
    for name in ("recall@1", "recall@5", "recall@50", "ndcg@3", "ndcg@100"):
        np.testing.assert_allclose(res.values[name], 1.0)


def test_ties_are_broken_by_item_index():
    # All scores equal: the ranking is 0, 1, 2, ... whatever the tensor order, so an item
    # of lower index wins the tie; shifting all scores by a constant changes nothing.
    known = _data([0], [0], n_users=1, n_items=6)
    test = _data([0, 0], [1, 5], n_users=1, n_items=6)
    flat = np.zeros((1, 6))
    res = ranking_per_user(_fixed_scores(flat), known, test, recall_ks=(1, 4), ndcg_ks=(5,))
    assert res.values["recall@1"][0] == 1.0  # item 0 is seen; item 1 comes first
    assert res.values["recall@4"][0] == 0.5  # items 1..4: hit on 1 only
    shifted = ranking_per_user(_fixed_scores(flat + 7.0), known, test, recall_ks=(1, 4),
                               ndcg_ks=(5,))
    for name in res.values:
        np.testing.assert_array_equal(res.values[name], shifted.values[name])


def test_popularity_penalised_hand_example():
    # Items 0 (pop 4) and 1 (pop 1) relevant; ranking 0 > 2 > 1; beta = 1: weights 1/4, 1.
    known = _data([1], [3], n_users=2, n_items=4)
    test = _data([0, 0], [0, 1], n_users=2, n_items=4)
    pop = np.array([4.0, 1.0, 2.0, 0.0])
    res = ranking_per_user(_fixed_scores([[3, 1, 2, 0], [0, 0, 0, 0]]), known, test,
                           recall_ks=(1, 3), ndcg_ks=(3,), popularity=pop, pop_betas=(1.0,))
    assert math.isclose(res.values["recall@1_pop1"][0], 0.25 / 1.0)  # best single weight: 1
    assert math.isclose(res.values["recall@3_pop1"][0], 1.0)
    dcg = 0.25 + 1.0 / math.log2(4)
    idcg = 1.0 + 0.25 / math.log2(3)
    assert math.isclose(res.values["ndcg@3_pop1"][0], dcg / idcg)
    np.testing.assert_allclose(popularity_weights(known, 1.0), [1, 1, 1, 1])


@given(st.integers(0, 10_000))
def test_popularity_weighting_at_beta_zero_is_the_plain_metric(seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(4, 15))
    rel = rng.random((4, 15)) < 0.3
    rel[:, 2] = True
    tu, ti = np.nonzero(rel)
    known = _data([], [], n_users=4, n_items=15)
    test = _data(tu, ti, n_users=4, n_items=15)
    res = ranking_per_user(_fixed_scores(scores), known, test, recall_ks=(3, 10),
                           ndcg_ks=(5,), popularity=rng.integers(0, 50, 15), pop_betas=(0.0,))
    for name in ("recall@3", "recall@10", "ndcg@5"):
        np.testing.assert_allclose(res.values[name + "_pop0"], res.values[name])


def _toy_interactions(n_users=30, n_items=20, seed=0, timestamps=False):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < 0.35
    mask[:, 0] = True
    u, i = np.nonzero(mask)
    r = rng.integers(1, 6, len(u))
    ts = rng.integers(0, 1000, len(u)) if timestamps else None
    return from_arrays(u, i, r, ts, levels=[1, 2, 3, 4, 5])


def test_strong_split_never_leaks_held_out_users_and_scores_from_fold_in_only():
    data = _toy_interactions()
    split = user_fold_in_split(data, heldout_users=8, seed=3)
    held = np.unique(np.r_[split.test.user, split.fold_in.user])
    assert not np.isin(held, split.train.user).any()
    calls = []

    def score_fold_in(fold_in, users):
        calls.append(fold_in)
        assert np.isin(users, held).all()
        return torch.zeros(len(users), data.n_items)

    res = evaluate_strong(score_fold_in, split)
    assert calls and all(c is split.fold_in for c in calls)
    assert set(res.users.tolist()) <= set(held.tolist())


def test_known_test_drops_unseen_users_and_items():
    data = _toy_interactions(timestamps=True)
    split = temporal_split(data, quantile=0.5)
    test = known_test(split)
    assert (split.train.counts_per_user()[test.user] > 0).all()
    assert (split.train.counts_per_item()[test.item] > 0).all()


def test_batched_fold_in_matches_estimator_fold_in():
    data = _toy_interactions()
    split = user_fold_in_split(data, heldout_users=5, seed=1)
    cfg = Conv4RecConfig(hidden=(16,), in_channels=2, out_channels=2, epochs=2, patience=0)
    est = Conv4RecEstimator(cfg, progress=False).fit(split.train, generator=0)
    users = np.unique(split.fold_in.user)
    batched = conv4rec_fold_in_scores(est, split.fold_in, users)
    for row, u in enumerate(users):
        sel = split.fold_in.user == u
        one = torch.logsumexp(est.fold_in(split.fold_in.item[sel], split.fold_in.level[sel]), -1)
        torch.testing.assert_close(batched[row], one, rtol=1e-5, atol=1e-5)


def test_paired_test():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    same = paired_test(a, a.copy())
    assert same["p_value"] == 1.0 and same["mean_diff"] == 0.0
    shifted = paired_test(a + 0.5 + 0.1 * rng.normal(size=200), a)
    assert shifted["p_value"] < 1e-10 and math.isclose(shifted["mean_diff"], 0.5, abs_tol=0.05)
    b = a + rng.normal(size=200)
    assert math.isclose(paired_test(a, b, test="t")["p_value"],
                        scipy.stats.ttest_rel(a, b).pvalue)
    with_nan = paired_test(np.r_[a, np.nan], np.r_[b, 1.0])
    assert with_nan["n"] == 200
    with pytest.raises(ValueError):
        paired_test(a, b, test="sign")


def test_paired_t_test_of_a_constant_difference_is_certain():
    import warnings

    a = np.array([1.0, 1.01, 1.02])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy warns of precision loss on zero spread
        result = paired_test(a + 0.5, a, test="t")
    assert result["p_value"] == 0.0 and result["statistic"] == np.inf


def test_summarize():
    s = summarize([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": 1.0, "n": 3}
    assert summarize([4.0])["std"] == 0.0
