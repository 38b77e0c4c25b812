"""Exact metrics: TV is a metric, Pinsker and the excess-risk chain, known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import distributions, joint_log_probs

from simulations.metrics import (
    as_log_proba,
    certificate,
    chain_violation,
    consumption_tv_per_user,
    distribution_metrics,
    entropy_per_user,
    kl_per_user,
    precision_at_k,
    rating_tv_per_user,
    total_variation,
    tv_per_user,
)


def sup_over_events(p: np.ndarray, q: np.ndarray) -> float:
    """max_A |p(A) - q(A)| by enumerating every event A (the definition of TV)."""
    k = len(p)
    return max(abs(p[list(a)].sum() - q[list(a)].sum())
               for r in range(k + 1) for a in itertools.combinations(range(k), r))


# ------------------------------------------------------------------ TV is a metric
@given(distributions(max_size=7, n=3))
def test_tv_is_a_metric(pqr):
    p, q, r = pqr
    tol = 1e-12
    assert total_variation(p, p) == 0.0
    assert total_variation(p, q) == pytest.approx(total_variation(q, p), abs=tol)
    assert -tol <= total_variation(p, q) <= 1 + tol
    assert total_variation(p, r) <= total_variation(p, q) + total_variation(q, r) + tol
    if not np.allclose(p, q, rtol=0, atol=1e-15):
        assert total_variation(p, q) > 0


@given(distributions(max_size=7, n=2))
def test_tv_is_half_l1_and_the_sup_over_events(pq):
    p, q = pq
    assert total_variation(p, q) == pytest.approx(sup_over_events(p, q), abs=1e-12)
    assert total_variation(p, q) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-15)


@given(distributions(max_size=8, n=2, allow_zeros=False), st.integers(0, 2**31 - 1))
def test_tv_and_kl_are_invariant_to_relabelling(pq, seed):
    p, q = pq
    perm = np.random.default_rng(seed).permutation(p.shape[0])
    lp, lq = np.log(p)[None, None], np.log(q)[None, None]
    assert tv_per_user(lp, lq) == pytest.approx(tv_per_user(lp[..., perm], lq[..., perm]))
    assert kl_per_user(lp, lq) == pytest.approx(kl_per_user(lp[..., perm], lq[..., perm]))


# ------------------------------------------------------------------ Pinsker and the chain
@given(joint_log_probs(n=2))
def test_the_chain_holds_exactly_up_to_float_error(logs):
    """excess risk = E KL >= 2 E TV^2 >= 2 (E TV)^2, for any truth and any model."""
    log_p, log_q = logs
    m = distribution_metrics(log_p, log_q, eta=1e-4)
    assert chain_violation(m) == []
    assert m["excess_risk"] == pytest.approx(m["kl"], rel=1e-9, abs=1e-12)
    assert m["kl"] >= 2 * m["tv"] ** 2 - 1e-12
    assert m["tv"] <= m["pinsker_bound"] + 1e-12
    assert 0 <= m["pinsker_ratio"] <= 1 + 1e-9
    assert m["tv_eta"] <= m["tv"] + 1e-4 + 1e-12  # mixing moves q by at most eta in TV


@given(joint_log_probs(n=2))
def test_pinsker_holds_for_every_user(logs):
    log_p, log_q = logs
    tv, kl = tv_per_user(log_p, log_q), kl_per_user(log_p, log_q)
    assert np.all(kl >= 2 * tv ** 2 - 1e-12)


def test_chain_violation_reports_a_broken_link():
    m = {"kl": 0.1, "cross_entropy": 1.1, "excess_risk": 0.2, "tv_sq": 0.01, "tv": 0.1,
         "pinsker_bound": 0.3}
    assert any("excess_risk" in v for v in chain_violation(m))
    m.update(excess_risk=0.1, tv_sq=0.2)
    assert any("2 E TV^2" in v for v in chain_violation(m))


# ------------------------------------------------------------------ known answers
def test_known_answers():
    p = np.log(np.array([[[0.5], [0.5]]]))             # one user, two items, one level
    q = np.log(np.array([[[0.9], [0.1]]]))
    m = distribution_metrics(p, q, eta=1e-4)
    assert m["tv"] == pytest.approx(0.4)
    assert m["kl"] == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1))
    assert m["entropy"] == pytest.approx(math.log(2))
    assert m["cross_entropy"] == pytest.approx(-0.5 * math.log(0.9) - 0.5 * math.log(0.1))
    assert m["rating_tv"] == 0.0                       # one level: ratings always agree
    assert m["consumption_tv"] == pytest.approx(0.4)
    point_a, point_b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert total_variation(point_a, point_b) == 1.0


def test_rating_and_consumption_tv_split_the_joint():
    # Same item marginals, different rating distributions, and the reverse.
    p = np.array([[[0.25, 0.25], [0.5, 0.0]]])
    q_ratings = np.array([[[0.5, 0.0], [0.25, 0.25]]])
    with np.errstate(divide="ignore"):
        lp, lq = np.log(p), np.log(q_ratings)
    assert consumption_tv_per_user(lp, lq)[0] == pytest.approx(0.0)
    # item 0: P(.|0)=(.5,.5) vs (1,0): TV .5, weight .5; item 1: (1,0) vs (.5,.5): TV .5, weight .5
    assert rating_tv_per_user(lp, lq)[0] == pytest.approx(0.5)
    q_items = np.array([[[0.1, 0.1], [0.8, 0.0]]])
    with np.errstate(divide="ignore"):
        lq2 = np.log(q_items)
    assert rating_tv_per_user(lp, lq2)[0] == pytest.approx(0.0)
    assert consumption_tv_per_user(lp, lq2)[0] == pytest.approx(0.3)


def test_entropy_of_uniform_and_zero_cells():
    k = 6
    assert entropy_per_user(np.full((1, k, 1), -math.log(k)))[0] == pytest.approx(math.log(k))
    with np.errstate(divide="ignore"):
        p = np.log(np.array([[[1.0, 0.0, 0.0]]]))
    assert entropy_per_user(p)[0] == 0.0
    assert kl_per_user(p, np.log(np.full((1, 1, 3), 1 / 3)))[0] == pytest.approx(math.log(3))


def test_certificate_formula():
    assert certificate(train_risk_eta=2.5, entropy=2.0, generalization=0.3, eta=1e-3) == \
        pytest.approx(math.sqrt(0.8 / 2) + 1e-3)
    assert certificate(train_risk_eta=1.0, entropy=2.0, generalization=0.3, eta=0.01) == 0.01


def test_precision_at_k():
    true = np.array([[1, 2, 3], [4, 5, 6]])
    pred = np.array([[3, 9, 1], [7, 8, 9]])
    assert precision_at_k(true, pred) == pytest.approx((2 / 3 + 0) / 2)


def test_as_log_proba_renormalises_float32_in_float64():
    logits = torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(0))
    log_q = torch.log_softmax(logits.reshape(3, -1), -1).reshape(3, 4, 2)
    out = as_log_proba(log_q)
    assert out.dtype == np.float64
    assert np.allclose(np.exp(out).sum(axis=(1, 2)), 1.0, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="shape"):
        as_log_proba(np.zeros((2, 3)))
