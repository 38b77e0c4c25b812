"""The true and the learned distributions of one cached simulation run.

The truth is rebuilt from the run's config (a truth is a pure function of its config, seed
included); the learned distribution is the saved Conv4Rec checkpoint's prediction for the
training users from their training draws: one forward pass without gradients, no training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paper_figures import sources


@dataclass(frozen=True)
class RunDistributions:
    """log P_u(i, c) and log q_u(i, c) of one run, with what the captions need.

    Shapes: ``log_p``, ``log_q``: (n_users, n_items, n_levels), float64.
    """

    log_p: np.ndarray
    log_q: np.ndarray
    levels: np.ndarray
    config: dict
    result: dict
    seed: int
    x: object

    @property
    def gem_k(self) -> int:
        return int(self.config["gem_k"])

    @property
    def gem_fraction(self) -> float:
        return float(self.config["gem_fraction"])


def load_run(data: sources.SweepData, x: object, seed: int | None = None) -> RunDistributions:
    """The distributions of point ``x`` of a cached sweep (the lowest cached seed by default)."""
    import torch

    from conv4rec.estimator import Conv4RecEstimator
    from simulations.experiment import ExperimentConfig

    seeds = sorted(e["seed"] for e in data.envelopes if data.x_of[e["hash"]] == x)
    if not seeds:
        raise LookupError(f"sweep {data.sweep.name!r} has no cached run at {x!r}")
    seed = seeds[0] if seed is None else seed
    env = data.find(x, seed)
    config = ExperimentConfig.from_dict(env["config"])
    truth = config.truth.build()
    path: Path = data.checkpoint(env)
    est = Conv4RecEstimator.load(path)
    with torch.no_grad():
        log_q = est.predict_log_proba().double().numpy()
    log_q = log_q - np.logaddexp.reduce(log_q.reshape(len(log_q), -1), axis=1)[:, None, None]
    check_reproduces(path, truth.log_prob, log_q, env, data)
    return RunDistributions(log_p=truth.log_prob, log_q=log_q, levels=truth.levels,
                            config=env["config"], result=env["result"], seed=seed, x=x)


class StaleCheckpointError(RuntimeError):
    """A checkpoint's predictions do not give the TV its cached result recorded."""


def total_variation(log_p: np.ndarray, log_q: np.ndarray) -> float:
    """E_u TV(P_u, q_u) = mean over users of ½ Σ_{i,c} |P − q|."""
    diff = np.abs(np.exp(log_p) - np.exp(log_q)).reshape(len(log_p), -1)
    return float(0.5 * diff.sum(axis=1).mean())


def check_reproduces(path: Path, log_p: np.ndarray, log_q: np.ndarray, envelope: dict,
                     data: sources.SweepData, *, tol: float = 1e-4) -> None:
    """Fail loudly when the checkpoint, read by the current code, does not reproduce the TV
    the run recorded: the cache then predates a change of the model or of the checkpoint
    format, and a figure drawn from it would not show the run the other figures show."""
    recorded = envelope["result"]["estimators"]["conv4rec"]["tv"]
    measured = total_variation(log_p, log_q)
    if abs(measured - recorded) > tol:
        name = data.sweep.name
        raise StaleCheckpointError(
            f"{path}: the checkpoint's predictions give E TV = {measured:.6f}, but its cached "
            f"result recorded {recorded:.6f}: the cache was written by an older version of the "
            f"model code. Delete {data.root / name} and rerun `python -m simulations run {name} "
            f"--results {data.root}` (and ask for RESULT_VERSION in simulations/experiment.py "
            f"to be bumped, so that the cache detects this itself).")


def consumption(log_joint: np.ndarray) -> np.ndarray:
    """P_u(i) = Σ_c P_u(i, c). (n_users, n_items, n_levels) -> (n_users, n_items)."""
    return np.exp(np.logaddexp.reduce(log_joint, axis=-1))


def rating_distribution(log_joint: np.ndarray) -> np.ndarray:
    """P_u(c | i). Shape kept."""
    return np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=-1, keepdims=True))


def prob_high(log_joint: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """P_u(high | i) with the default threshold τ = v_1 + 0.75 (v_C − v_1) of SPEC §4."""
    from conv4rec.predict import default_tau

    high = levels >= default_tau(levels) - 1e-9
    return rating_distribution(log_joint)[..., high].sum(axis=-1)


def hidden_gems(log_joint: np.ndarray, levels: np.ndarray, k: int, fraction: float
                ) -> np.ndarray:
    """The hidden gems of SPEC §4 (the one implementation, ``conv4rec.predict.hidden_gems``).

    Returns (n_users, k) item indices, best first.
    """
    import torch

    from conv4rec.predict import hidden_gems as rank

    return rank(torch.from_numpy(log_joint), levels, k, fraction=fraction).numpy()
