"""Ground truths: exact distributions, deterministic parameters, i.i.d. sampling at the
binomial rate, hidden gems."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from strategies import rating_scales

from conv4rec.predict import default_tau
from simulations.truths import (
    DEFAULT_TRUTH,
    TRUTH_KINDS,
    TRUTHS,
    TruthConfig,
    TruthError,
    get_truth,
)

SMALL = {"n_users": 12, "n_items": 9}


@pytest.fixture(scope="module", params=sorted(TRUTHS))
def small_truth(request):
    return get_truth(request.param, **SMALL).build()


def test_at_least_four_registered_truths_and_a_default():
    assert {"separate", "mixture", "dirichlet", "shared_levels"} <= set(TRUTHS)
    assert DEFAULT_TRUTH in TRUTHS


def test_distribution_is_exact_and_normalised(small_truth):
    t = small_truth
    assert t.log_prob.shape == (12, 9, 5) and t.log_prob.dtype == np.float64
    assert np.all(np.isfinite(t.log_prob))
    assert np.allclose(t.prob.sum(axis=(1, 2)), 1.0, rtol=0, atol=1e-12)


@given(name=st.sampled_from(sorted(TRUTHS)), levels=rating_scales(),
       n_users=st.integers(1, 6), n_items=st.integers(2, 7), seed=st.integers(0, 2**20))
def test_any_scale_and_size_gives_a_distribution(name, levels, n_users, n_items, seed):
    t = get_truth(name, n_users=n_users, n_items=n_items, levels=levels, seed=seed).build()
    assert t.log_prob.shape == (n_users, n_items, len(levels))
    assert np.all(np.isfinite(t.log_prob))
    assert np.allclose(t.prob.sum(axis=(1, 2)), 1.0, rtol=0, atol=1e-12)


@given(name=st.sampled_from(sorted(TRUTHS)), levels=rating_scales(),
       seed=st.integers(0, 2**31))
def test_config_round_trip_is_exact(name, levels, seed):
    cfg = get_truth(name, levels=levels, seed=seed)
    back = TruthConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and type(back) is type(cfg)


def test_parameters_are_deterministic_and_users_nest(small_truth):
    cfg = small_truth.config
    assert np.array_equal(cfg.build().log_prob, small_truth.log_prob)
    bigger = cfg.replace(n_users=20).build()
    # the first 12 users of the bigger population are the same users (same items too)
    assert np.allclose(bigger.log_prob[:12], small_truth.log_prob, rtol=0, atol=1e-12)
    assert not np.array_equal(cfg.replace(seed=cfg.seed + 1).build().log_prob,
                              small_truth.log_prob)


@pytest.mark.parametrize("field, value, match", [
    ("n_users", 0, "n_users"), ("n_items", 1, "n_items"), ("levels", (3.0, 1.0), "levels"),
    ("seed", -1, "seed"), ("tau", 0.0, "tau"), ("rank", 0, "rank")])
def test_bad_fields_name_the_field(field, value, match):
    with pytest.raises(TruthError, match=match):
        get_truth("separate", **{field: value})


def test_unknown_names_are_errors():
    with pytest.raises(TruthError, match="unknown truth"):
        get_truth("nope")
    with pytest.raises(TruthError, match="kind"):
        TruthConfig.from_dict({"kind": "nope"})
    with pytest.raises(TruthError, match="unknown field"):
        TruthConfig.from_dict({**TRUTHS["separate"].to_dict(), "bogus": 1})
    assert set(TRUTH_KINDS) == {cfg.kind for cfg in TRUTHS.values()}


# ------------------------------------------------------------------ sampling
def test_sample_gives_n_iid_draws_per_user(small_truth):
    data = small_truth.sample(30, np.random.default_rng(0))
    assert np.array_equal(data.counts_per_user(), np.full(12, 30))
    assert np.array_equal(data.levels, small_truth.levels)
    again = small_truth.sample(30, np.random.default_rng(0))
    assert np.array_equal(data.user, again.user) and np.array_equal(data.item, again.item)
    assert np.array_equal(data.level, again.level)
    # draws are with replacement: a cell drawn k times is k interactions
    cells = (data.user * data.n_items + data.item) * data.n_levels + data.level
    assert len(np.unique(cells)) < len(cells)
    with pytest.raises(TruthError, match="n_per_user"):
        small_truth.sample(0, np.random.default_rng(0))


ALPHA = 1e-3  # family-wise level of each sampling test below (fixed seeds: deterministic)


def test_cell_counts_pass_an_exact_binomial_test():
    """Every cell count N ~ Binomial(n, P): exact two-sided p-values, Bonferroni over the
    cells; with a correct sampler the test fails with probability <= ALPHA."""
    t = get_truth("separate", n_users=20, n_items=10, levels=(1.0, 2.0, 3.0)).build()
    n = 2000
    counts = t.sample_counts(n, np.random.default_rng(1))
    p = t.prob.reshape(t.n_users, -1)
    lower = stats.binom.cdf(counts, n, p)
    upper = stats.binom.sf(counts - 1, n, p)
    p_values = np.minimum(1.0, 2 * np.minimum(lower, upper))
    assert p_values.min() >= ALPHA / p_values.size


@pytest.mark.parametrize("n", [10, 100, 1000])
def test_frequencies_converge_at_the_binomial_rate(n):
    """E ||N_u/n - P_u||_2^2 = sum_k P_uk (1 - P_uk) / n exactly (the binomial rate n^-1).

    D_u = n ||N_u/n - P_u||^2 - sum_k P_uk (1 - P_uk) has mean 0 and is independent across
    users; its mean over 400 users must lie within z_{1-ALPHA/2} = 3.29 standard errors.
    (Three n, each at level ALPHA: the family fails with probability <= 3 ALPHA.)
    """
    t = get_truth("dirichlet", n_users=400, n_items=8, levels=(1.0, 2.0)).build()
    p = t.prob.reshape(t.n_users, -1)
    freq = t.sample_counts(n, np.random.default_rng(n)) / n
    d = n * ((freq - p) ** 2).sum(axis=1) - (p * (1 - p)).sum(axis=1)
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert abs(d.mean()) <= stats.norm.ppf(1 - ALPHA / 2) * se


# ------------------------------------------------------------------ hidden gems
def naive_hidden_gems(prob, levels, k, fraction):
    """One user at a time, with Python loops: the SPEC §4 rule applied to P."""
    tau = default_tau(levels)
    out = []
    for pu in prob:
        consume = pu.sum(axis=1)
        n_top = int(np.ceil(fraction * len(consume)))
        top = set(np.argsort(-consume, kind="stable")[:n_top].tolist())
        high = pu[:, levels >= tau - 1e-9].sum(axis=1) / consume
        ranked = [i for i in np.argsort(-high, kind="stable") if i not in top]
        out.append(ranked[:k])
    return np.array(out)


def test_hidden_gems_follow_the_rule(small_truth):
    t = small_truth
    gems = t.hidden_gems(3, fraction=0.25)
    assert gems.shape == (12, 3)
    consume = t.prob.sum(axis=2)
    top = np.argsort(-consume, axis=1)[:, :3]  # ceil(0.25 * 9) = 3 most consumed items
    assert not (gems[:, :, None] == top[:, None, :]).any()
    expected = naive_hidden_gems(t.prob, t.levels, 3, 0.25)
    high = (t.prob[:, :, t.levels >= default_tau(t.levels) - 1e-9].sum(2) / consume)
    # same P(high) values as the naive ranking (ties may be ordered differently)
    assert np.allclose(np.take_along_axis(high, gems, 1),
                       np.take_along_axis(high, expected, 1), rtol=0, atol=1e-12)
