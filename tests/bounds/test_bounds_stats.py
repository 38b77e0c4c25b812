"""The statistics of a checkpoint against a naive dense transcription of the network.

The re-writing of docs/bounds.md §1.3 must be exact: the dense augmented chain built entry by
entry reproduces the model's logits, and every norm the bounds use equals the norm of that
dense chain computed by numpy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from bounds_helpers import (
    make_checkpoint,
    make_model,
    naive_chain,
    naive_effective,
    naive_forward,
    row_scale,
    x_hat,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import small_configs

from bounds.norms import frobenius_norm, l21_norm
from bounds.stats import BoundsError, CheckpointStats
from conv4rec.checkpoint import CheckpointError, save_checkpoint
from conv4rec.config import Conv4RecConfig


@st.composite
def models(draw):
    cfg = draw(small_configs(shared_weights=draw(st.booleans())))
    n_items, n_levels = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    perturb = draw(st.sampled_from([0.0, 0.05, 0.5]))
    model, initial = make_model(cfg, n_items, n_levels, seed=seed, perturb=perturb)
    return model, initial


def _checkpoint(model, initial, n_rows=7, max_inter=None):
    max_inter = model.n_items if max_inter is None else max_inter
    return make_checkpoint(model, initial, n_rows=n_rows, max_input_interactions=max_inter,
                           n_observed=n_rows * max_inter)


@settings(deadline=None)
@given(models(), st.data())
def test_dense_chain_reproduces_the_model(model_init, data):
    model, _ = model_init
    cfg, m, n_levels = model.config, model.n_items, model.n_levels
    mats = naive_chain(model.state_dict(), cfg, m, n_levels)
    # any 0/1 input: a set of (item, level) cells, possibly two levels of one item
    cells = data.draw(st.lists(st.integers(0, m * n_levels - 1), unique=True,
                               max_size=m * n_levels))
    k = len(cells)
    items = np.asarray([c // n_levels for c in cells], dtype=np.int64)
    levels = np.asarray([c % n_levels for c in cells], dtype=np.int64)
    ours = naive_forward(mats, cfg, x_hat(items, levels, m, n_levels, cfg.input_scaling))
    with torch.no_grad():
        ref = model(torch.zeros(k, dtype=torch.long), torch.from_numpy(items),
                    torch.from_numpy(levels), 1, row_scale(k, cfg.input_scaling))
    np.testing.assert_allclose(ours.reshape(m, n_levels), ref[0].double().numpy(),
                               rtol=1e-4, atol=1e-4)


@settings(deadline=None)
@given(models())
# found by hypothesis: a square decoder (m K_out = d) once made the bordered Gram matrix
# take the wrong side
@example(model_init=make_model(Conv4RecConfig(hidden=(2,), in_channels=1, out_channels=2,
                                              item_bias=False, shared_weights=False), 1, 1))
def test_chain_norms_equal_the_dense_norms(model_init):
    model, initial = model_init
    cfg, m, n_levels = model.config, model.n_items, model.n_levels
    mats = naive_chain(model.state_dict(), cfg, m, n_levels)
    mats0 = naive_chain(initial, cfg, m, n_levels)
    stats = CheckpointStats.from_checkpoint(_checkpoint(model, initial))
    chain = stats.spectral_chain
    assert [layer.name for layer in chain] == (
        ["input_conv"] + [f"encoder.{k}" for k in range(len(cfg.hidden))]
        + ["decoder", "output_conv"])
    for layer, mat, mat0 in zip(chain, mats, mats0):
        assert (layer.rows, layer.cols) == mat.shape
        svd = np.linalg.svd(mat, compute_uv=False)[0]
        assert math.isclose(layer.spectral, svd, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(layer.l21_distance_unrolled, l21_norm(mat - mat0), rel_tol=1e-9,
                            abs_tol=1e-12)
    # shared covers (docs §4.2): the input filter once, the output layer's parameter columns
    k_in, k_out = cfg.in_channels, cfg.out_channels
    e, e0 = mats[0][:k_in, :n_levels], mats0[0][:k_in, :n_levels]
    assert math.isclose(chain[0].l21_distance_shared, l21_norm(e - e0), rel_tol=1e-9,
                        abs_tol=1e-12)
    parts = 2 if cfg.item_bias else 1
    eff, eff0 = (naive_effective(sd, cfg, m, n_levels) for sd in (model.state_dict(), initial))
    act0 = {"sigmoid": 0.5}.get(cfg.decoder_activation, 0.0)
    expected = 0.0
    for c in range(n_levels):
        da = eff["a_out"][c] - eff0["a_out"][c]
        db = (eff["b_out"][c] + act0 * eff["a_out"][c].sum()) - (
            eff0["b_out"][c] + act0 * eff0["a_out"][c].sum())
        sq = float(da @ da) + parts * m * db ** 2
        if cfg.item_bias:
            dib = eff["item_bias"][:, c] - eff0["item_bias"][:, c]
            sq += parts * m * float(dib @ dib)
        expected += math.sqrt(sq)
    assert math.isclose(chain[-1].l21_distance_shared, expected, rel_tol=1e-9, abs_tol=1e-12)
    # Golowich's chain: merged first layer, per-item decoder blocks, per-cell output rows
    frob = [value for _, value in stats.frobenius_chain]
    assert math.isclose(frob[0], frobenius_norm(mats[1] @ mats[0]), rel_tol=1e-9)
    for j in range(1, len(cfg.hidden)):
        assert math.isclose(frob[j], frobenius_norm(mats[1 + j]), rel_tol=1e-9)
    dec = mats[-2]
    blocks = [math.sqrt(frobenius_norm(dec[i * k_out:(i + 1) * k_out]) ** 2 + 1.0)
              for i in range(m)]
    assert math.isclose(frob[-2], max(blocks), rel_tol=1e-9)
    assert math.isclose(frob[-1], np.linalg.norm(mats[-1], axis=1).max(), rel_tol=1e-9)


@settings(deadline=None, max_examples=10)
@given(models())
def test_layer_stats_are_the_norms_of_the_effective_weights(model_init):
    model, initial = model_init
    cfg, m, n_levels = model.config, model.n_items, model.n_levels
    stats = CheckpointStats.from_checkpoint(_checkpoint(model, initial))
    eff, eff0 = (naive_effective(sd, cfg, m, n_levels) for sd in (model.state_dict(), initial))
    mats = ([eff["a_in"]] + [w for w, _ in eff["enc"]] + [eff["w_dec"], eff["a_out"]])
    mats0 = ([eff0["a_in"]] + [w for w, _ in eff0["enc"]] + [eff0["w_dec"], eff0["a_out"]])
    assert len(stats.layers) == len(mats)
    for layer, a, a0 in zip(stats.layers, mats, mats0):
        assert layer.shape == a.shape
        for norms, mat in ((layer.norms, a), (layer.distance, a - a0)):
            assert math.isclose(norms.spectral, np.linalg.norm(mat, 2), rel_tol=1e-9,
                                abs_tol=1e-12)
            assert math.isclose(norms.frobenius, np.linalg.norm(mat), rel_tol=1e-12,
                                abs_tol=1e-15)
            assert math.isclose(norms.l21, np.linalg.norm(mat, axis=1).sum(), rel_tol=1e-12,
                                abs_tol=1e-15)


@settings(deadline=None, max_examples=15)
@given(st.sampled_from(["none", "sqrt", "mean"]), st.integers(1, 6), st.integers(1, 4),
       st.integers(0, 2**31 - 1))
def test_input_norm_bounds_hold_for_every_input_split(scaling, m, n_levels, seed):
    """‖x̂_u‖² <= input_norm_max² for any input part of a row, and Σ_u <= input_sq_sum."""
    rng = np.random.default_rng(seed)
    n_rows = 6
    counts = rng.integers(1, m + 1, size=n_rows)
    model, initial = make_model(Conv4RecConfig(hidden=(2,), in_channels=1, out_channels=1,
                                               input_scaling=scaling), m, n_levels)
    ckpt = make_checkpoint(model, initial, n_rows=n_rows, max_input_interactions=int(
        counts.max()), n_observed=int(counts.sum()))
    stats = CheckpointStats.from_checkpoint(ckpt)
    total = 0.0
    for count in counts:
        n_in = int(rng.integers(0, count + 1))  # the masked split keeps any subset as input
        items = rng.choice(m, size=n_in, replace=False)
        x = x_hat(items, rng.integers(0, n_levels, size=n_in), m, n_levels, scaling)
        assert x @ x <= stats.input_norm_max ** 2 * (1 + 1e-12)
        total += x @ x
    assert total <= stats.input_sq_sum * (1 + 1e-12)


def test_stats_are_frozen_and_read_the_risk(tmp_path):
    model, initial = make_model(Conv4RecConfig(hidden=(3,), in_channels=2, out_channels=2),
                                6, 3, perturb=0.1)
    ckpt = make_checkpoint(model, initial, n_rows=9, max_input_interactions=4, n_observed=20,
                           risk={"eta": 1e-3, "train": 2.0, "test": 2.5, "n_rows": 8})
    path = tmp_path / "c.pt"
    save_checkpoint(path, ckpt)
    stats = CheckpointStats.from_checkpoint(path)
    assert (stats.n, stats.m, stats.n_levels, stats.eta) == (8, 6, 3, 1e-3)
    assert stats.gap == pytest.approx(0.5)
    assert stats.loss_range == pytest.approx(math.log(18 / 1e-3))
    assert stats.loss_lipschitz == pytest.approx(math.sqrt(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.n = 3  # type: ignore[misc]
    assert stats.to_dict()["layers"][0]["name"] == "input_conv"
    # without risk: n = n_rows, default eta, both written down as assumptions
    bare = CheckpointStats.from_checkpoint(make_checkpoint(
        model, initial, n_rows=9, max_input_interactions=4, n_observed=20))
    assert bare.n == 9 and bare.eta == 1e-4 and bare.gap is None
    assert any("n = 9" in a for a in bare.assumptions)


def test_bad_content_gives_one_line_errors():
    model, initial = make_model(Conv4RecConfig(hidden=(3,)), 4, 2)
    ckpt = make_checkpoint(model, initial, n_rows=3, max_input_interactions=2, n_observed=5)
    arch = ckpt.metadata["architecture"]
    bad_arch = dataclasses.replace(ckpt, metadata={**ckpt.metadata,
                                                   "architecture": arch[:1] + arch[2:]})
    with pytest.raises(BoundsError, match="unsupported architecture"):
        CheckpointStats.from_checkpoint(bad_arch)
    odd_act = [dict(x) for x in arch]
    odd_act[1]["activation"] = "swish"
    with pytest.raises(BoundsError, match="swish"):
        CheckpointStats.from_checkpoint(dataclasses.replace(
            ckpt, metadata={**ckpt.metadata, "architecture": odd_act}))
    missing = dict(ckpt.state_dict)
    del missing["decoder.weight"]
    with pytest.raises(CheckpointError, match="decoder.weight") as err:
        CheckpointStats.from_checkpoint(dataclasses.replace(ckpt, state_dict=missing))
    assert "\n" not in str(err.value)
    wrong = dict(ckpt.initial_state_dict)
    wrong["output_conv.weight"] = torch.zeros(5, 5)
    with pytest.raises(CheckpointError, match="output_conv.weight"):
        CheckpointStats.from_checkpoint(dataclasses.replace(ckpt, initial_state_dict=wrong))
