"""Comparison estimators: valid distributions, determinism, a leave-one-out oracle, planted
answers."""

from __future__ import annotations

import numpy as np
import pytest

from conv4rec.data import Interactions
from simulations.baselines import (
    BASELINES,
    BaselineConfigError,
    EmpiricalConfig,
    IndependentConfig,
    MultVAEConfig,
    SmoothedEmpirical,
    cell_counts,
    loo_shrinkage,
    make_baseline,
)
from simulations.metrics import distribution_metrics
from simulations.truths import get_truth

FAST = {"empirical": EmpiricalConfig(), "multvae": MultVAEConfig(epochs=3, hidden=16, latent=4),
        "independent": IndependentConfig(steps=20, rank=2)}


@pytest.fixture(scope="module")
def truth():
    return get_truth("separate", n_users=25, n_items=10, levels=(1.0, 2.0, 3.0)).build()


@pytest.fixture(scope="module")
def data(truth):
    return truth.sample(15, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_outputs_are_distributions_and_deterministic(name, data):
    log_q = make_baseline(name, FAST[name]).fit(data, generator=3).predict_log_proba()
    assert log_q.shape == (25, 10, 3)
    assert np.all(np.isfinite(log_q.numpy()))
    assert np.allclose(log_q.exp().sum(dim=(1, 2)).numpy(), 1.0, rtol=0, atol=1e-9)
    again = make_baseline(name, FAST[name]).fit(data, generator=3).predict_log_proba()
    assert np.array_equal(log_q.numpy(), again.numpy())


def test_loo_shrinkage_matches_a_naive_oracle():
    rng = np.random.default_rng(1)
    counts = rng.poisson(1.5, size=(6, 5)).astype(float)
    counts[:, 0] += 1  # every user has a draw
    prior = (counts.sum(0) + 1) / (counts.sum() + 5)
    grid = np.geomspace(0.1, 100, 13)

    def naive(lam):
        total = 0.0
        for u in range(counts.shape[0]):
            for k in range(counts.shape[1]):
                for _ in range(int(counts[u, k])):  # leave out one draw of cell k
                    rest = counts[u].copy()
                    rest[k] -= 1
                    total += np.log((rest[k] + lam * prior[k]) / (rest.sum() + lam))
        return total

    assert loo_shrinkage(counts, prior, grid) == grid[int(np.argmax([naive(g) for g in grid]))]


def test_empirical_recovers_a_planted_distribution():
    t = get_truth("dirichlet", n_users=5, n_items=6, levels=(1.0, 2.0)).build()
    few = SmoothedEmpirical().fit(t.sample(50, np.random.default_rng(0)))
    many = SmoothedEmpirical().fit(t.sample(50_000, np.random.default_rng(0)))
    tv_few = distribution_metrics(t.log_prob, few.predict_log_proba(), eta=1e-4)["tv"]
    tv_many = distribution_metrics(t.log_prob, many.predict_log_proba(), eta=1e-4)["tv"]
    assert tv_many < 0.02 < tv_few


def test_independent_rating_model_recovers_gaussian_ratings():
    """On the separate-factors truth the rating part is a discretised Gaussian around a smooth
    mean, so with many draws the rating TV of the independent model becomes small."""
    t = get_truth("separate", n_users=30, n_items=8, levels=(1.0, 2.0, 3.0, 4.0, 5.0),
                  enjoyment_rank=1).build()
    est = make_baseline("independent", IndependentConfig(rank=2, steps=300)).fit(
        t.sample(2000, np.random.default_rng(0)), generator=0)
    m = distribution_metrics(t.log_prob, est.predict_log_proba(), eta=1e-4)
    assert m["rating_tv"] < 0.1


def test_cell_counts():
    data = Interactions(user=[0, 0, 0, 1], item=[1, 1, 0, 1], level=[0, 0, 1, 1],
                        levels=[1.0, 2.0], user_ids=np.arange(2), item_ids=np.arange(2))
    counts = cell_counts(data)
    assert counts.shape == (2, 2, 2)
    assert counts[0, 1, 0] == 2 and counts[0, 0, 1] == 1 and counts[1, 1, 1] == 1
    assert counts.sum() == 4


def test_bad_configs_name_the_field():
    with pytest.raises(BaselineConfigError, match="dropout"):
        MultVAEConfig(dropout=1.0)
    with pytest.raises(BaselineConfigError, match="rank"):
        IndependentConfig(rank=0)
    with pytest.raises(BaselineConfigError, match="unknown field"):
        EmpiricalConfig.from_dict({"nope": 1})
    with pytest.raises(BaselineConfigError, match="unknown baseline"):
        make_baseline("nope")
    assert MultVAEConfig.from_dict(MultVAEConfig().to_dict()) == MultVAEConfig()
