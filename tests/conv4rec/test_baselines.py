"""Baselines on a tiny planted dataset: each reaches a sane bound; closed forms; round-trips."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from conv4rec.baselines import (
    BASELINES,
    EASE,
    SRMGCNN,
    BiasedMF,
    BiasedMFConfig,
    EASEConfig,
    GlobalMean,
    IAutoRec,
    IAutoRecConfig,
    ItemPopularity,
    MultVAE,
    MultVAEConfig,
    SRMGCNNConfig,
    UserItemBias,
    load_graphs,
)
from conv4rec.data import from_arrays, random_split, user_fold_in_split
from conv4rec.evaluation import evaluate_explicit, evaluate_ranking, evaluate_strong


def _planted(seed: int = 0, n_users: int = 150, n_items: int = 80):
    """Consumption driven by 2-d user/item factors and popularity; ratings by biases plus a
    second factor product, rounded to 1..5. Also returns a 5-NN user graph on the factors."""
    rng = np.random.default_rng(seed)
    xu, yi = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    logit = 1.5 * xu @ yi.T + np.log(np.linspace(1, 0.2, n_items))[None] - 1.0
    observed = rng.random((n_users, n_items)) < 0.6 / (1 + np.exp(-logit))
    u, i = np.nonzero(observed)
    bu, bi = rng.normal(scale=0.5, size=n_users), rng.normal(scale=0.5, size=n_items)
    r = np.clip(np.round(3 + bu[u] + bi[i] + 0.8 * (xu[u] * yi[i]).sum(1)
                         + rng.normal(scale=0.3, size=len(u))), 1, 5)
    data = from_arrays(u, i, r, levels=[1, 2, 3, 4, 5])
    dist = ((xu[:, None] - xu[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, 1)[:, :5]
    rows = np.repeat(np.arange(n_users), 5)
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, nearest.ravel())), shape=(n_users,) * 2)
    return data, ((graph + graph.T) > 0).astype(float)


@pytest.fixture(scope="module")
def planted():
    torch.set_num_threads(1)
    data, graph = _planted()
    return random_split(data, test_fraction=0.2, seed=0), graph


@pytest.fixture(scope="module")
def mean_rmse(planted):
    split, _ = planted
    return evaluate_explicit(GlobalMean().fit(split.train).predict_ratings, split.test)["rmse"]


def test_global_mean_is_the_mean(planted, mean_rmse):
    split, _ = planted
    pred = GlobalMean().fit(split.train).predict_ratings(np.array([0, 1]), np.array([0, 0]))
    np.testing.assert_allclose(pred, split.train.rating.mean())
    assert mean_rmse > 0.9  # the planted ratings vary


@pytest.mark.parametrize("make, bound", [
    (lambda: UserItemBias(), 0.75),
    (lambda: BiasedMF(BiasedMFConfig(epochs=30, dim=8, lr=1e-2)), 0.85),
    (lambda: IAutoRec(IAutoRecConfig(hidden=50, lr=1e-2, epochs=100)), 0.85),
], ids=["user_item_bias", "biased_mf", "i_autorec"])
def test_explicit_baselines_beat_the_global_mean(planted, mean_rmse, make, bound):
    split, _ = planted
    model = make().fit(split.train, generator=0)
    rmse = evaluate_explicit(model.predict_ratings, split.test)["rmse"]
    assert rmse < bound * mean_rmse, (model.name, rmse, mean_rmse)
    pred = model.predict_ratings(split.test.user, split.test.item)
    assert pred.min() >= 1 and pred.max() <= 5


def test_srmgcnn_beats_the_global_mean(planted, mean_rmse):
    split, graph = planted
    cfg = SRMGCNNConfig(iterations=300, diffusion_steps=3, order=3, features=16, lstm_hidden=16,
                        lr=3e-3)
    model = SRMGCNN(cfg, user_graph=graph, item_graph=None).fit(split.train, generator=0)
    rmse = evaluate_explicit(model.predict_ratings, split.test)["rmse"]
    assert rmse < 0.8 * mean_rmse


def test_user_item_bias_recovers_planted_biases():
    # Integer biases: every rating 3 + b_u + b_i lies on the 1..5 scale and is exactly additive.
    rng = np.random.default_rng(1)
    bu, bi = rng.integers(-1, 2, 30), rng.integers(-1, 2, 20)
    u, i = (a.ravel() for a in np.meshgrid(np.arange(30), np.arange(20), indexing="ij"))
    data = from_arrays(u, i, 3 + bu[u] + bi[i], levels=[1, 2, 3, 4, 5])
    model = UserItemBias(UserItemBias.config_class(reg_user=0, reg_item=0, n_iter=50)).fit(data)
    np.testing.assert_allclose(model.predict_ratings(u, i), data.rating, atol=1e-6)


@pytest.fixture(scope="module")
def ranking_split(planted):
    return planted[0]


def _recall(model, split):
    return evaluate_ranking(model.score_items, split.train, split.test, recall_ks=(10,),
                            ndcg_ks=(10,))["recall@10"]


def test_ranking_baselines_beat_random_and_personalised_beat_popularity(ranking_split):
    split = ranking_split
    rng = np.random.default_rng(0)
    n_items = split.train.n_items
    random_recall = evaluate_ranking(lambda u: torch.as_tensor(rng.random((len(u), n_items))),
                                     split.train, split.test, recall_ks=(10,))["recall@10"]
    pop = _recall(ItemPopularity().fit(split.train), split)
    ease = _recall(EASE(EASEConfig(l2=20.0)).fit(split.train), split)
    vae = _recall(MultVAE(MultVAEConfig(epochs=60, hidden=100, latent=20, batch_size=32))
                  .fit(split.train, generator=0), split)
    assert pop > 1.3 * random_recall
    assert ease > 1.2 * pop and vae > 1.1 * pop, (pop, ease, vae)


def test_ease_matches_the_closed_form(ranking_split):
    train = ranking_split.train
    model = EASE(EASEConfig(l2=7.0)).fit(train)
    x = np.zeros((train.n_users, train.n_items))
    x[train.user, train.item] = 1
    p = np.linalg.inv(x.T @ x + 7.0 * np.eye(train.n_items))
    b = np.eye(train.n_items) - p / np.diag(p)
    np.testing.assert_allclose(model.weights_.numpy(), b, atol=1e-5)
    assert np.allclose(np.diag(model.weights_.numpy()), 0)


@pytest.mark.parametrize("make", [lambda: EASE(), lambda: MultVAE(MultVAEConfig(epochs=2)),
                                  lambda: ItemPopularity()], ids=["ease", "mult_vae", "pop"])
def test_fold_in_from_training_rows_equals_plain_scores(ranking_split, make):
    train = ranking_split.train
    model = make().fit(train, generator=0)
    users = np.arange(10)
    torch.testing.assert_close(model.score_items(users, inputs=train),
                               model.score_items(users))


def test_strong_generalization_runs_for_fold_in_baselines(planted):
    data = planted[0].train
    split = user_fold_in_split(data, heldout_users=20, seed=0)
    model = EASE(EASEConfig(l2=20.0)).fit(split.train)
    res = evaluate_strong(lambda f, u: model.score_items(u, inputs=f), split, recall_ks=(10,),
                          ndcg_ks=(10,))
    assert res.means()["recall@10"] > 0.2


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_configs_round_trip_and_validate(name):
    cls = BASELINES[name]
    cfg = cls.config_class()
    again = cls.config_class.from_dict(cfg.to_dict())
    assert again == cfg and again.short_hash() == cfg.short_hash()
    with pytest.raises(ValueError, match="unknown field"):
        cls.config_class.from_dict({"no_such_field": 1})


def test_bad_config_values_name_the_field():
    with pytest.raises(ValueError, match="BiasedMFConfig.dim=0"):
        BiasedMFConfig(dim=0)
    with pytest.raises(ValueError, match="EASEConfig.l2"):
        EASEConfig(l2=-1.0)


@pytest.mark.parametrize("name", ["biased_mf", "i_autorec", "srmgcnn"])
def test_seeded_fits_are_reproducible(planted, name):
    # the benchmark caches one fit per (config, seed): a second fit must give the same numbers
    split, graph = planted
    make = {"biased_mf": lambda: BiasedMF(BiasedMFConfig(epochs=3, dim=4)),
            "i_autorec": lambda: IAutoRec(IAutoRecConfig(epochs=3, hidden=8)),
            "srmgcnn": lambda: SRMGCNN(SRMGCNNConfig(iterations=30, diffusion_steps=2, order=2,
                                                     features=4, lstm_hidden=4),
                                       user_graph=graph, item_graph=None)}[name]
    a, b = (make().fit(split.train, generator=5).predict_ratings(split.test.user,
                                                                 split.test.item)
            for _ in range(2))
    np.testing.assert_array_equal(a, b)


def test_seeded_mult_vae_is_reproducible(planted):
    split, _ = planted
    a, b = (MultVAE(MultVAEConfig(epochs=2, hidden=16, latent=4)).fit(split.train, generator=5)
            .score_items(np.arange(5)) for _ in range(2))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_load_graphs_of_real_datasets(shared_data):
    from conv4rec.data import load_dataset

    for name, has_items in (("douban", False), ("flixster", True), ("ml-100k", True)):
        train = load_dataset(name, None, root=shared_data).train
        users, items = load_graphs(name, train, root=shared_data)
        assert users.shape == (train.n_users, train.n_users) and users.nnz > 0
        assert (users != users.T).nnz == 0
        assert (items is not None) == has_items
        if items is not None:
            assert items.shape == (train.n_items, train.n_items)
