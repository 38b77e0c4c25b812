"""One simulation experiment: a frozen config and ``run(config, seed)``, a pure function.

``run`` builds the truth, draws the training interactions, fits Conv4Rec and the comparison
estimators to the same draws, and returns the exact metrics of :mod:`simulations.metrics` for
each. The numbers depend on (config, seed) only: every random choice draws from a stream
spawned from ``SeedSequence(seed)`` at a fixed index (:data:`STREAMS`), the truth's parameters
from its own ``seed`` field, and torch runs on one thread inside ``run`` (so that the float
sums, and hence the numbers, do not depend on the caller's thread count).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch

from conv4rec.config import Conv4RecConfig
from conv4rec.estimator import Conv4RecEstimator
from conv4rec.predict import hidden_gems
from simulations.baselines import (
    BASELINES,
    EmpiricalConfig,
    IndependentConfig,
    MultVAEConfig,
    cell_counts,
    make_baseline,
)
from simulations.generalization import bounds_available, generalization_bounds
from simulations.metrics import (
    as_log_proba,
    certificate,
    chain_violation,
    distribution_metrics,
    entropy_per_user,
    precision_at_k,
)
from simulations.truths import DEFAULT_TRUTH, TruthConfig, get_truth

logger = logging.getLogger(__name__)

#: Result format version: bump it when the content of ``run``'s dict changes meaning.
RESULT_VERSION = 2  # 2: repeated draws are one 0/1 input cell

#: Estimators a config may name: Conv4Rec and the comparison estimators.
ESTIMATORS = ("conv4rec", *BASELINES)

#: Random streams of a run, each ``SeedSequence(seed).spawn(len(STREAMS))[index]``; new ones are
#: appended so that the existing ones never change.
STREAMS = ("sample", "conv4rec", "empirical", "multvae", "independent")

#: The Conv4Rec settings of the simulations: small, fast to train on 2 cores, early stopping on
#: 10 % of each user's draws; 8 level channels each side, no dropout, early stopping on the
#: joint loss, no column L2, learning-rate drops or refinement (the settings the documented
#: sweeps were run with, kept when the package defaults changed; the TV statement is about the
#: plain joint likelihood).
DEFAULT_MODEL = Conv4RecConfig(in_channels=8, out_channels=8, dropout=0.0, hidden=(64,),
                               lr=3e-3, batch_size=32, epochs=300, patience=20,
                               validation_fraction=0.1, monitor="loss", lr_drops=0,
                               column_l2=0.0, refine_steps=0, refine_alpha=None)


class ExperimentConfigError(ValueError):
    """An experiment configuration field has a bad value."""


def _check(cond: bool, field: str, value: object, why: str) -> None:
    if not cond:
        raise ExperimentConfigError(f"ExperimentConfig.{field}={value!r}: {why}")


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """Everything that determines a simulation result (not paths, jobs or verbosity).

    truth : the ground truth (its sizes and parameter seed included).
    n_per_user : i.i.d. draws from P_u per user (the training interactions).
    model : Conv4Rec settings.
    estimators : which of :data:`ESTIMATORS` to fit, in this order.
    empirical, multvae, independent : the comparison estimators' settings.
    gem_k, gem_fraction : hidden gems: precision@k, outside the top ``gem_fraction`` of
        consumption (SPEC §4).
    eta : uniform mixing of the bounded loss ℓ_η (risk_eta, certificate).
    delta : the certificate holds with probability >= 1 − delta.
    """

    truth: TruthConfig = dataclasses.field(default_factory=lambda: get_truth(DEFAULT_TRUTH))
    n_per_user: int = 32
    model: Conv4RecConfig = DEFAULT_MODEL
    estimators: tuple[str, ...] = ESTIMATORS
    empirical: EmpiricalConfig = dataclasses.field(default_factory=EmpiricalConfig)
    multvae: MultVAEConfig = dataclasses.field(default_factory=MultVAEConfig)
    independent: IndependentConfig = dataclasses.field(default_factory=IndependentConfig)
    gem_k: int = 10
    gem_fraction: float = 0.1
    eta: float = 1e-4
    delta: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimators", tuple(self.estimators))
        _check(isinstance(self.truth, TruthConfig), "truth", self.truth, "expected a TruthConfig")
        _check(isinstance(self.model, Conv4RecConfig), "model", self.model,
               "expected a Conv4RecConfig")
        _check(isinstance(self.n_per_user, int) and self.n_per_user >= 1, "n_per_user",
               self.n_per_user, "expected an integer >= 1")
        _check(len(self.estimators) >= 1 and len(set(self.estimators)) == len(self.estimators)
               and all(e in ESTIMATORS for e in self.estimators), "estimators", self.estimators,
               f"expected distinct names among {ESTIMATORS}")
        _check(isinstance(self.gem_k, int) and 1 <= self.gem_k <= self.truth.n_items, "gem_k",
               self.gem_k, f"expected an integer in [1, n_items={self.truth.n_items}]")
        _check(0.0 <= self.gem_fraction < 1.0, "gem_fraction", self.gem_fraction,
               "expected 0 <= value < 1")
        _check(0.0 < self.eta < 1.0, "eta", self.eta, "expected 0 < eta < 1")
        _check(0.0 < self.delta < 1.0, "delta", self.delta, "expected 0 < delta < 1")

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "truth": self.truth.to_dict(),
            "n_per_user": self.n_per_user,
            "model": self.model.to_dict(),
            "estimators": list(self.estimators),
            "empirical": self.empirical.to_dict(),
            "multvae": self.multvae.to_dict(),
            "independent": self.independent.to_dict(),
            "gem_k": self.gem_k,
            "gem_fraction": self.gem_fraction,
            "eta": self.eta,
            "delta": self.delta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ExperimentConfigError(f"ExperimentConfig: unknown field(s) {unknown}")
        d = dict(d)
        builders = {"truth": TruthConfig.from_dict, "model": Conv4RecConfig.from_dict,
                    "empirical": EmpiricalConfig.from_dict, "multvae": MultVAEConfig.from_dict,
                    "independent": IndependentConfig.from_dict}
        for key, build in builders.items():
            if key in d:
                d[key] = build(d[key])
        if "estimators" in d:
            d["estimators"] = tuple(d["estimators"])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def short_hash(self) -> str:
        """12 hex digits of SHA-256 of the JSON form: names the cached result files."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the caller's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """The independent random streams of a run, by name (see :data:`STREAMS`)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r}: expected an integer >= 0")
    return dict(zip(STREAMS, np.random.SeedSequence(int(seed)).spawn(len(STREAMS))))


def _fit(name: str, config: ExperimentConfig, data, seed: np.random.SeedSequence):
    if name == "conv4rec":
        return Conv4RecEstimator(config.model, progress=False).fit(data, generator=seed)
    return make_baseline(name, getattr(config, name)).fit(data, generator=seed)


def run(config: ExperimentConfig, seed: int, *,
        checkpoint_path: str | Path | None = None) -> dict[str, Any]:
    """Simulate, fit and measure; the returned dict depends on (config, seed) only.

    Parameters
    ----------
    config : ExperimentConfig
    seed : int >= 0
        Root of the run's random streams (sampling, each estimator's fit).
    checkpoint_path : path, optional
        Where to write the Conv4Rec checkpoint (with its ``risk`` metadata). The certificate
        needs a checkpoint: without a path, one is written to a temporary directory when the
        bounds package is available.

    Returns
    -------
    dict (JSON-able) with
        ``data``: n_observed, mean distinct cells per user, share of repeated draws;
        ``truth``: entropy R(P) and sizes;
        ``estimators``: per estimator the :func:`distribution_metrics`, ``gem_precision`` and
        ``chain_violations`` (empty when R(q) − R(P) = E KL >= 2 E TV² >= 2 (E TV)² holds);
        ``conv4rec``: epochs, best epoch, train_risk_eta R̂_η (masked split of the training
        draws), test_risk_eta R_η (exact), gap_eta = test − train;
        ``certificate``: per registered bound, G_n(δ), the certificate and whether it holds,
        or a note saying why it is left out.
    """
    s = streams(seed)
    with single_thread():
        truth = config.truth.build()
        data = truth.sample(config.n_per_user, np.random.default_rng(s["sample"]))
        distinct = (cell_counts(data).reshape(truth.n_users, -1) > 0).sum(axis=1)
        true_gems = truth.hidden_gems(config.gem_k, fraction=config.gem_fraction)
        result: dict[str, Any] = {
            "version": RESULT_VERSION,
            "hash": config.short_hash(),
            "seed": int(seed),
            "truth": {"kind": config.truth.kind, "n_users": truth.n_users,
                      "n_items": truth.n_items, "n_levels": truth.n_levels,
                      "entropy": float(entropy_per_user(truth.log_prob).mean())},
            "data": {"n_observed": int(data.n_observed),
                     "distinct_cells_per_user": float(distinct.mean()),
                     "repeat_share": float(1 - distinct.sum() / data.n_observed)},
            "estimators": {},
        }
        fitted: dict[str, Any] = {}
        for name in config.estimators:
            est = _fit(name, config, data, s[name])
            fitted[name] = est
            log_q = as_log_proba(est.predict_log_proba())
            metrics = distribution_metrics(truth.log_prob, log_q, eta=config.eta)
            gems = hidden_gems(torch.from_numpy(log_q), truth.levels, config.gem_k,
                               fraction=config.gem_fraction).numpy()
            metrics["gem_precision"] = precision_at_k(true_gems, gems)
            metrics["chain_violations"] = chain_violation(metrics)
            if metrics["chain_violations"]:
                logger.warning("%s seed %d %s: %s", config.short_hash(), seed, name,
                               metrics["chain_violations"])
            result["estimators"][name] = metrics
        if "conv4rec" in fitted:
            result["conv4rec"], result["certificate"] = _conv4rec_extras(
                config, fitted["conv4rec"], result, checkpoint_path)
    return result


def _conv4rec_extras(config: ExperimentConfig, est: Conv4RecEstimator, result: dict,
                     checkpoint_path: str | Path | None) -> tuple[dict, dict]:
    metrics = result["estimators"]["conv4rec"]
    risk = est.risk_report(eta=config.eta, seed=0)
    train, n_rows = float(risk["train"]), int(risk["n_rows"])
    test = metrics["risk_eta"]
    extras = {"epochs": len(est.history_), "best_epoch": int(est.best_epoch_),
              "train_risk_eta": train, "test_risk_eta": test, "gap_eta": test - train,
              "n_rows": n_rows}
    cert: dict[str, Any] = {"delta": config.delta, "eta": config.eta, "bounds": {}, "notes": []}
    ok, note = bounds_available()
    if checkpoint_path is None and not ok:
        cert["notes"].append(note)
        return extras, cert
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(checkpoint_path) if checkpoint_path is not None else Path(tmp) / "run.pt"
        est.save(path, risk={"eta": config.eta, "train": train, "test": test, "n_rows": n_rows},
                 simulation={"config": config.to_dict(), "seed": result["seed"],
                             "test_risk": "exact population risk given the training inputs"})
        if not ok:
            cert["notes"].append(note)
            return extras, cert
        values, notes = generalization_bounds(path, delta=config.delta)
    cert["notes"] += notes
    for name, g in (values or {}).items():
        cert["bounds"][name] = _certify(g, train, result["truth"]["entropy"], config.eta,
                                        metrics["tv"], extras["gap_eta"])
    return extras, cert


def _certify(g: dict, train: float, entropy: float, eta: float, tv: float,
             gap: float) -> dict[str, Any]:
    """The certificate of one bound; a bound too large for float64 gives an infinite
    certificate, stored as None with its log10."""
    if g["value"] is None:
        log10_cert = 0.5 * (g["log10_value"] - math.log10(2))  # sqrt(G / 2) dominates
        return {"generalization": None, "log10_generalization": g["log10_value"],
                "certificate": None, "log10_certificate": log10_cert, "holds": True,
                "exceeds_gap": True}
    value = certificate(train_risk_eta=train, entropy=entropy, generalization=g["value"],
                        eta=eta)
    log10_g = g["log10_value"] if math.isfinite(g["log10_value"]) else None  # None for G = 0
    return {"generalization": g["value"], "log10_generalization": log10_g,
            "certificate": value, "log10_certificate": math.log10(value),
            "holds": bool(tv <= value), "exceeds_gap": bool(g["value"] >= gap)}


def default_config(**changes: Any) -> ExperimentConfig:
    """The default experiment (default truth and model) with some fields replaced."""
    return ExperimentConfig(**changes)
