"""Experiments: config round trips and hashes, run() is pure, the chain holds for every run,
the certificate with a registered bound."""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from simulation_configs import TINY_MODEL, tiny_config
from strategies import rating_scales

from simulations.experiment import (
    ESTIMATORS,
    ExperimentConfig,
    ExperimentConfigError,
    run,
    streams,
)
from simulations.metrics import certificate
from simulations.truths import TRUTHS, get_truth


@given(truth=st.sampled_from(sorted(TRUTHS)), levels=rating_scales(),
       n=st.integers(1, 500), seed=st.integers(0, 2**31),
       estimators=st.lists(st.sampled_from(ESTIMATORS), min_size=1, unique=True),
       eta=st.floats(1e-8, 0.5), hidden=st.integers(1, 64))
def test_config_round_trip_and_hash(truth, levels, n, seed, estimators, eta, hidden):
    cfg = ExperimentConfig(truth=get_truth(truth, levels=levels, seed=seed), n_per_user=n,
                           estimators=tuple(estimators), eta=eta,
                           model=TINY_MODEL.replace(hidden=(hidden,)))
    back = ExperimentConfig.from_dict(json.loads(cfg.to_json()))
    assert back == cfg
    assert back.short_hash() == cfg.short_hash() and len(cfg.short_hash()) == 12
    assert cfg.replace(n_per_user=n + 1).short_hash() != cfg.short_hash()


@pytest.mark.parametrize("changes, match", [
    ({"n_per_user": 0}, "n_per_user"), ({"estimators": ("nope",)}, "estimators"),
    ({"estimators": ("conv4rec", "conv4rec")}, "estimators"), ({"eta": 0.0}, "eta"),
    ({"delta": 1.0}, "delta"), ({"gem_k": 99}, "gem_k")])
def test_bad_fields_name_the_field(changes, match):
    with pytest.raises(ExperimentConfigError, match=match):
        tiny_config(**changes)
    with pytest.raises(ExperimentConfigError, match="unknown field"):
        ExperimentConfig.from_dict({"bogus": 1})


def test_streams_are_fixed_by_name():
    a, b = streams(3), streams(3)
    assert all(a[k].generate_state(2).tolist() == b[k].generate_state(2).tolist() for k in a)
    assert a["sample"].generate_state(1) != a["conv4rec"].generate_state(1)
    with pytest.raises(ValueError, match="seed"):
        streams(-1)


def test_run_is_pure_and_ignores_the_callers_thread_count(tiny):
    before = torch.get_num_threads()
    first = run(tiny, 5)
    torch.set_num_threads(2)
    try:
        second = run(tiny, 5)
    finally:
        torch.set_num_threads(before)
    assert torch.get_num_threads() == before
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert run(tiny, 6)["estimators"]["conv4rec"]["tv"] != first["estimators"]["conv4rec"]["tv"]


@pytest.mark.parametrize("truth", sorted(TRUTHS))
def test_the_chain_holds_for_every_estimator_of_every_run(truth):
    """excess risk = E KL >= 2 (E TV)^2, exact up to float error, for every estimator."""
    cfg = tiny_config(truth=get_truth(truth, n_users=12, n_items=6, levels=(1.0, 2.0, 3.0)))
    result = run(cfg, 0)
    json.dumps(result)  # JSON-able
    assert set(result["estimators"]) == set(ESTIMATORS)
    for name, m in result["estimators"].items():
        assert m["chain_violations"] == [], name
        assert m["excess_risk"] == pytest.approx(m["kl"], rel=1e-9, abs=1e-12)
        assert m["kl"] >= 2 * m["tv"] ** 2
        assert 0 <= m["gem_precision"] <= 1
    c4 = result["conv4rec"]
    assert c4["gap_eta"] == pytest.approx(c4["test_risk_eta"] - c4["train_risk_eta"])
    assert result["data"]["n_observed"] == 12 * 6


def test_without_bounds_the_certificate_is_left_out_with_a_note(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "bounds", None)  # import bounds -> ImportError
    cert = run(tiny.replace(estimators=("conv4rec",)), 0)["certificate"]
    assert cert["bounds"] == {} and "not importable" in cert["notes"][0]


def fake_bounds(values: dict[str, float], seen: dict) -> types.ModuleType:
    """A stand-in for the bounds package with its API: CheckpointStats.from_checkpoint,
    compute_bounds(stats, delta=) -> results with name, value, log10_value, applicable."""
    module = types.ModuleType("bounds")

    class CheckpointStats:
        @classmethod
        def from_checkpoint(cls, path):
            seen["path"] = str(path)
            return cls()

    def compute_bounds(stats, *, delta):
        seen["delta"] = delta
        return [types.SimpleNamespace(
            name=name, value=v, log10_value=(400.0 if v == math.inf else  # overflow: log kept
                                             math.log10(v) if v > 0 else -math.inf),
            applicable=not math.isnan(v), reason="nan means not applicable")
            for name, v in values.items()]

    module.CheckpointStats, module.compute_bounds = CheckpointStats, compute_bounds
    module.REGISTRY = dict.fromkeys(values)
    return module


def test_certificate_with_registered_bounds(tiny, monkeypatch, tmp_path):
    """Each applicable bound gets G, the certificate of SPEC §6 and whether it held; the
    checkpoint carries the risks and the number of rows the bounds use."""
    seen: dict = {}
    monkeypatch.setitem(sys.modules, "bounds", fake_bounds(
        {"huge": 1e6, "zero": 0.0, "overflow": math.inf, "not_applicable": math.nan}, seen))
    ckpt = tmp_path / "run.pt"
    result = run(tiny.replace(estimators=("conv4rec",)), 0, checkpoint_path=ckpt)
    cert = result["certificate"]
    assert seen == {"path": str(ckpt), "delta": tiny.delta}
    c4, tv = result["conv4rec"], result["estimators"]["conv4rec"]["tv"]
    expected = certificate(train_risk_eta=c4["train_risk_eta"],
                           entropy=result["truth"]["entropy"], generalization=1e6,
                           eta=tiny.eta)
    assert cert["bounds"]["huge"]["certificate"] == pytest.approx(expected)
    assert cert["bounds"]["huge"]["holds"] and cert["bounds"]["huge"]["exceeds_gap"]
    zero = cert["bounds"]["zero"]
    assert zero["generalization"] == 0.0 and zero["holds"] == (tv <= zero["certificate"])
    assert cert["bounds"]["overflow"]["certificate"] is None  # inf: kept as log10 only
    assert cert["bounds"]["overflow"]["holds"]
    assert "not_applicable" not in cert["bounds"]
    assert any("not_applicable not applicable" in n for n in cert["notes"])
    json.dumps(result, allow_nan=False)
    from conv4rec.checkpoint import load_checkpoint
    meta = load_checkpoint(ckpt).metadata
    assert meta["risk"] == {"eta": tiny.eta, "train": c4["train_risk_eta"],
                            "test": c4["test_risk_eta"], "n_rows": c4["n_rows"]}
    assert meta["simulation"]["seed"] == 0


def test_risk_n_rows_is_the_sample_size_of_the_empirical_risk(tiny, monkeypatch):
    """The n written for the bounds is the number of rows empirical_risk averages over."""
    from conv4rec.estimator import Conv4RecEstimator

    data = tiny.truth.build().sample(2, np.random.default_rng(0))  # few draws: some rows miss
    est = Conv4RecEstimator(tiny.model, progress=False).fit(data, generator=0)
    scored = []
    real = Conv4RecEstimator._batch_loss

    def spy(self, rows_data, rows, *args, **kwargs):
        out = real(self, rows_data, rows, *args, **kwargs)
        scored.append(len(out))
        return out

    monkeypatch.setattr(Conv4RecEstimator, "_batch_loss", spy)
    n_rows = est.risk_report(eta=1e-4, seed=0)["n_rows"]
    assert sum(scored) == n_rows < data.n_users


