"""A tiny fixture cache in the producers' formats (used by ``conftest.py``).

Simulation results are written through ``simulations.cache.ResultCache.store`` (the producer's
own writer, so the envelope format cannot drift) with synthetic metrics; checkpoints are either
metadata-only (the norms figure reads ``history``), or one loadable Conv4Rec checkpoint at its
initial weights (the prediction figures run it forward; nothing is trained). Benchmark tables
and job records follow ``conv4rec.benchmark``'s JSON layout (``docs/results.md``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from paper_figures import registry

ESTIMATORS = ("conv4rec", "empirical", "multvae", "independent")
BOUND_NAMES = ("golowich2018_frobenius", "golowich2018_frobenius_simplified",
               "bartlett2017_spectral", "ledent2021_weight_sharing")
LAYERS = (("input_conv", "conv1x1"), ("encoder.0", "fc"), ("decoder", "fc"),
          ("output_conv", "conv1x1"))


def _x_number(x) -> float:
    """A number that grows with the sweep's x (x may be 'truth/n')."""
    return float(str(x).rsplit("/", 1)[-1]) if not isinstance(x, (int, float)) else float(x)


def fake_result(config, seed: int, x, *, tv_conv4rec: float | None = None) -> dict:
    """A result dict with every field the figures and ``simulations.report.summarise`` read."""
    rng = np.random.default_rng([seed, int(_x_number(x))])
    n = _x_number(x)
    truth = config.truth
    estimators = {}
    for k, est in enumerate(config.estimators):
        tv = float(min(0.9, (0.8 + 0.1 * k) * n ** -0.25 * (1 + 0.02 * rng.standard_normal())))
        if est == "conv4rec" and tv_conv4rec is not None:
            tv = tv_conv4rec
        kl = 2 * (tv / 0.72) ** 2
        estimators[est] = {
            "tv": tv, "kl": kl, "excess_risk": kl, "pinsker_bound": math.sqrt(kl / 2),
            "pinsker_ratio": tv / math.sqrt(kl / 2), "pinsker_ratio_per_user": 0.73,
            "rating_tv": 0.7 * tv, "consumption_tv": 0.5 * tv, "gem_precision": 0.5,
            "risk_eta": 4.4 + kl, "chain_violations": []}
    result = {
        "version": 1, "hash": config.short_hash(), "seed": seed,
        "truth": {"kind": truth.kind, "n_users": truth.n_users, "n_items": truth.n_items,
                  "n_levels": len(truth.levels), "entropy": 4.4},
        "data": {"n_observed": truth.n_users * config.n_per_user,
                 "distinct_cells_per_user": 0.9 * config.n_per_user, "repeat_share": 0.1},
        "estimators": estimators,
    }
    if "conv4rec" in config.estimators:
        gap = 0.3 * n ** -0.3 * (1 + 0.1 * rng.random())
        relu = config.model.activation == "relu"
        bounds = {}
        for b in BOUND_NAMES:
            if b.startswith("golowich") and not relu:
                continue
            log10_g = {"golowich2018_frobenius": 5.2, "golowich2018_frobenius_simplified": 5.3,
                       "bartlett2017_spectral": 8.2, "ledent2021_weight_sharing": 7.5}[b]
            log10_g += 0.05 * rng.standard_normal() - 0.1 * math.log10(n)
            bounds[b] = {"generalization": 10 ** log10_g, "log10_generalization": log10_g,
                         "certificate": 10 ** (log10_g / 2), "log10_certificate": log10_g / 2,
                         "holds": True, "exceeds_gap": True}
        notes = [] if relu else [f"{b} not applicable: activation 'tanh' is not positively "
                                 "homogeneous" for b in BOUND_NAMES[:2]]
        result["conv4rec"] = {"epochs": 40, "best_epoch": 30, "train_risk_eta": 4.4,
                              "test_risk_eta": 4.4 + gap, "gap_eta": gap, "n_rows": truth.n_users}
        result["certificate"] = {"delta": config.delta, "eta": config.eta, "bounds": bounds,
                                 "notes": notes}
    return result


def norms_checkpoint(path: Path, width: int) -> None:
    """A metadata-only checkpoint with a training history of per-epoch norms."""
    from conv4rec.checkpoint import Checkpoint, save_checkpoint

    epochs = 12
    history = []
    for e in range(1, epochs + 1):
        norms = {f"{name}.weight": {"fro": (1 + k) * math.log1p(width) * (1 + 0.05 * e),
                                    "fro_dist": 0.1 * (1 + k) * e ** 0.5}
                 for k, (name, _) in enumerate(LAYERS)}
        history.append({"epoch": e, "norms": norms, "train_loss": 5 - 0.1 * e,
                        "val_loss": 5 - 0.05 * e, "seconds": 0.1})
    arch = [{"name": name, "kind": kind, "weight": f"{name}.weight", "bias": f"{name}.bias",
             "positions": 100 if kind == "conv1x1" else 1, "activation": "tanh"}
            for name, kind in LAYERS]
    save_checkpoint(path, Checkpoint(metadata={"history": history, "best_epoch": 8,
                                               "architecture": arch},
                                     state_dict={}, initial_state_dict={}, inputs={}))


def model_checkpoint(path: Path, config) -> float:
    """A loadable Conv4Rec checkpoint of the config's architecture at its initial weights (no
    training: the figures only run it forward), with a few draws of the truth as its inputs.
    Returns its exact E TV, which the run's cached result must record."""
    import torch

    from conv4rec.checkpoint import Checkpoint, save_checkpoint
    from conv4rec.model import Conv4Rec
    from paper_figures.figures._predictions import total_variation

    truth = config.truth.build()
    data = truth.sample(8, np.random.default_rng(0))
    torch.manual_seed(0)  # test code: the initial weights only need to be fixed
    model = Conv4Rec(truth.n_items, truth.n_levels, config.model)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    metadata = {"config": config.model.to_dict(), "levels": truth.levels.tolist(),
                "n_users": truth.n_users, "n_items": truth.n_items, "n_cols": truth.n_items,
                "n_rows": truth.n_users, "n_levels": truth.n_levels,
                "user_ids": [str(u) for u in range(truth.n_users)],
                "item_ids": [str(i) for i in range(truth.n_items)], "history": [],
                "best_epoch": None}
    inputs = {"user": torch.as_tensor(data.user, dtype=torch.int32),
              "item": torch.as_tensor(data.item, dtype=torch.int32),
              "level": torch.as_tensor(data.level, dtype=torch.int32)}
    save_checkpoint(path, Checkpoint(metadata=metadata, state_dict=state,
                                     initial_state_dict=state, inputs=inputs))
    from conv4rec.estimator import Conv4RecEstimator

    log_q = Conv4RecEstimator.load(path).predict_log_proba().double().numpy()
    log_q -= np.logaddexp.reduce(log_q.reshape(len(log_q), -1), axis=1)[:, None, None]
    return total_variation(truth.log_prob, log_q)


def write_sweeps(root: Path, size: str = "small") -> None:
    """Every sweep (at its ``size`` seeds) that a figure reads, with checkpoints where read."""
    from paper_figures import sources
    from paper_figures.figures.hidden_gems import POINT
    from simulations.cache import ResultCache
    from simulations.sweeps import get_sweep, parse_seeds

    wanted: dict[str, tuple[tuple[int, ...], bool]] = {}
    for fig in registry.all_figures():
        for src in fig.REQUIRES:
            if isinstance(src, sources.SweepSource):
                name, seeds = src.sweep_seeds(size)
                old_seeds, old_ckpt = wanted.get(name, ((), False))
                wanted[name] = (tuple(sorted(set(old_seeds) | set(parse_seeds(seeds)))),
                                old_ckpt or src.checkpoints)
    for name, (seeds, checkpoints) in wanted.items():
        sweep = get_sweep(name)
        cache = ResultCache(root, name)
        for x, cfg in sweep.points:
            for seed in seeds:
                tv = None
                if checkpoints:
                    path = cache.checkpoint_path(cfg, seed)
                    if x == POINT and seed == 0:
                        tv = model_checkpoint(path, cfg)
                    else:
                        width = cfg.model.hidden[0]
                        norms_checkpoint(path, width)
                cache.store(cfg, seed, fake_result(cfg, seed, x, tv_conv4rec=tv),
                            wall_seconds=0.0)


def write_benchmark(root: Path, *, implicit: bool = True) -> None:
    """Benchmark summaries and job records (with per-user values) for the real-data figure."""
    rng = np.random.default_rng(0)
    tables = {
        "ml-100k-u1": ("explicit", ["rmse", "mae"], {
            "global_mean": 1.15, "user_item_bias": 0.95, "biased_mf": 0.93, "i_autorec": 0.92,
            "conv4rec": 0.918}),
        "ml-100k-strong": ("strong", ["recall@20", "ndcg@100"], {
            "popularity": 0.31, "ease": 0.59, "mult_vae": 0.55, "conv4rec": 0.50}),
        "ml-100k-weak": ("weak", ["recall@20", "ndcg@100"], {
            "popularity": 0.34, "ease": 0.58, "mult_vae": 0.55, "conv4rec": 0.50}),
    }
    (root / "cache").mkdir(parents=True, exist_ok=True)
    summaries = {}
    for key, (protocol, columns, models) in tables.items():
        split = "strong-0" if protocol == "strong" else "u1"
        rows = {}
        for model, value in models.items():
            n_users = 100 if protocol == "strong" else 120
            if protocol == "explicit":
                per_user = {"mse": (value ** 2 * rng.gamma(4.0, 0.25, n_users)).tolist()}
            else:
                per_user = {c: np.clip(value + 0.2 * rng.standard_normal(n_users), 0,
                                       1).tolist() for c in ("recall@20", "ndcg@100")}
            metrics = {c: value * (1.0 if c == columns[0] else 0.8) for c in columns}
            record = {"key": f"{key}-{model}", "table": key, "dataset": "ml-100k",
                      "protocol": protocol, "split": split, "model": model, "seed": 0,
                      "config": {}, "metrics": metrics, "per_user": {"users": list(
                          range(n_users)), **per_user}, "fit_seconds": 1.0, "eval_seconds": 0.1}
            (root / "cache" / f"{key}-{model}.json").write_text(json.dumps(record))
            rows[model] = {c: {"mean": metrics[c], "std": 0.0, "n": 1} for c in columns}
            rows[model]["fit_seconds"] = {"mean": 1.0, "std": 0.0, "n": 1}
        summaries[key] = {"table": key, "title": key, "protocol": protocol,
                          "dataset": "ml-100k", "runs": [[split, 0]], "columns": columns,
                          "rows": rows, "paired_vs_conv4rec": {}, "note": ""}
    (root / "ml-100k-u1.json").write_text(json.dumps([summaries["ml-100k-u1"]]))
    if implicit:
        (root / "ml-100k-implicit.json").write_text(
            json.dumps([summaries["ml-100k-strong"], summaries["ml-100k-weak"]]))
