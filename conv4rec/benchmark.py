"""Real-data benchmark tables: Conv4Rec and the baselines on the same splits (SPEC §5).

``python -m conv4rec benchmark --suite explicit|implicit|all [--datasets ...]`` runs every
(table, split, seed, model) job that is not cached yet and writes ``results/<suite>.md``,
``.csv`` and ``.json``. A job's result is cached under ``results/cache/<key>.json``, the key a
hash of the dataset, the split (its name and the fingerprints of its parts), the protocol, the
model's name and config and the seed, so a rerun redoes only what changed.

Hyper-parameters come from ``conv4rec/configs/<model>__<dataset>__<protocol>.json`` (written by
``--tune``: a seeded random search with the same number of trials for every model on a
validation split carved out of the first split's training part, Dacrema et al. 2019), else
``<model>__<protocol>.json``, else the model's defaults.

Protocols: ``explicit`` (RMSE/MAE on all test ratings), ``weak`` (rank every item outside the
user's training data; test users and items known at training time), ``strong`` (held-out users,
80 % fold-in), ``temporal`` (weak generalization on a global cut at the 0.8 timestamp quantile).
Ranking tables add the popularity-penalised Recall@20 / NDCG@100 with beta = 0.5.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import math
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from conv4rec.baselines import BASELINES, SRMGCNN, load_graphs
from conv4rec.checkpoint import atomic_write_text
from conv4rec.cli import positive_int, torch_device
from conv4rec.config import Conv4RecConfig
from conv4rec.data import Interactions, Split, load_dataset, random_split, user_fold_in_split
from conv4rec.estimator import Conv4RecEstimator
from conv4rec.evaluation import (
    conv4rec_fold_in_scores,
    evaluate_strong,
    explicit_per_user,
    known_test,
    paired_test,
    ranking_per_user,
    summarize,
)

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
EXPLICIT_MODELS = ("global_mean", "user_item_bias", "biased_mf", "i_autorec", "srmgcnn",
                   "conv4rec", "conv4rec_user")
RANKING_MODELS = ("popularity", "ease", "mult_vae", "conv4rec")
POP_BETA = 0.5
RANKING_OPTIONS = {"recall_ks": (20, 50), "ndcg_ks": (100,), "pop_betas": (POP_BETA,)}
RANKING_COLUMNS = ("recall@20", "recall@50", "ndcg@100", f"recall@20_pop{POP_BETA:g}",
                   f"ndcg@100_pop{POP_BETA:g}")
EXPLICIT_COLUMNS = ("rmse", "mae")


# ----------------------------------------------------------------------------- models
class Conv4RecModel:
    """Conv4Rec behind the baselines' interface (``score_items(users, inputs=None)``)."""

    name = "conv4rec"
    config_class = Conv4RecConfig

    def __init__(self, config: Conv4RecConfig | None = None, *, device: str = "cpu") -> None:
        self.config = config or Conv4RecConfig()
        self.device = device

    def fit(self, train: Interactions, *, generator: int) -> Conv4RecModel:
        self.estimator_ = Conv4RecEstimator(self.config, device=self.device,
                                            progress=False).fit(train, generator=generator)
        return self

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_ratings(users, items)

    def score_items(self, users: np.ndarray, inputs: Interactions | None = None
                    ) -> torch.Tensor:
        if inputs is None:
            return self.estimator_.score_items(users)
        return conv4rec_fold_in_scores(self.estimator_, inputs, users)


class Conv4RecUserModel(Conv4RecModel):
    """Conv4Rec in its default user orientation in an explicit table: the same single model
    that the ranking tables use, beside the ``conv4rec`` row (whose explicit config may pick
    the item orientation), so that "one model for both tasks" can be read off the tables."""

    name = "conv4rec_user"


def model_class(name: str) -> type:
    if name == "conv4rec":
        return Conv4RecModel
    if name == "conv4rec_user":
        return Conv4RecUserModel
    if name not in BASELINES:
        raise ValueError(f"unknown model {name!r}; known: conv4rec, conv4rec_user, "
                         f"{', '.join(BASELINES)}")
    return BASELINES[name]


def config_path(model: str, dataset: str, protocol: str) -> Path:
    return CONFIG_DIR / f"{model}__{dataset}__{protocol}.json"


def load_config(model: str, dataset: str, protocol: str):
    """The tuned config of a model for (dataset, protocol), else the protocol's, else default."""
    path = config_path(model, dataset, protocol)
    if path.is_file():
        return model_class(model).config_class.from_dict(json.loads(path.read_text())["config"])
    return base_config(model, protocol)


def base_config(model: str, protocol: str):
    """The config a search starts from: the protocol's (``<model>__<protocol>.json``), else the
    default. Never a dataset's tuned file, so a rerun of ``--tune`` repeats the same search."""
    cls = model_class(model)
    path = CONFIG_DIR / f"{model}__{protocol}.json"
    if path.is_file():
        return cls.config_class.from_dict(json.loads(path.read_text())["config"])
    return cls.config_class()


def build_model(model: str, config, dataset: str, train: Interactions, device: str = "cpu"):
    """A model ready to fit; ``device`` is used by Conv4Rec (the baselines run on the CPU)."""
    cls = model_class(model)
    if cls is SRMGCNN:
        user_graph, item_graph = load_graphs(dataset, train)
        return SRMGCNN(config, user_graph=user_graph, item_graph=item_graph)
    if issubclass(cls, Conv4RecModel):
        return cls(config, device=device)
    return cls(config)


def job_device(model: str, device: str) -> str:
    """Where a model's job runs: Conv4Rec on ``device``, every baseline on the CPU."""
    return device if issubclass(model_class(model), Conv4RecModel) else "cpu"


# ------------------------------------------------------------------------------ tables
def _concat(split: Split) -> Interactions:
    """All interactions of a split (train then test) as one dataset."""
    a, b = split.train, split.test
    ts = None if a.timestamp is None or b.timestamp is None else np.r_[a.timestamp, b.timestamp]
    return Interactions(user=np.r_[a.user, b.user], item=np.r_[a.item, b.item],
                        level=np.r_[a.level, b.level], levels=a.levels, user_ids=a.user_ids,
                        item_ids=a.item_ids, timestamp=ts, source=a.source)


@dataclass(frozen=True)
class Table:
    """One benchmark table: a protocol on a dataset, over several splits (folds or seeds)."""

    key: str
    title: str
    dataset: str
    protocol: str  # explicit | weak | strong | temporal
    splits: tuple[str, ...]  # split names for load_dataset, or "strong-<seed>"
    models: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    heldout_users: int = 0
    note: str = ""

    def load(self, split_name: str) -> Split:
        if self.protocol == "strong":
            seed = int(split_name.split("-")[1])
            full = _concat(load_dataset(self.dataset, None))
            return user_fold_in_split(full, heldout_users=self.heldout_users, seed=seed)
        return load_dataset(self.dataset, split_name)


TABLES: dict[str, Table] = {t.key: t for t in (
    Table("ml-100k-u1", "ML-100K u1 (explicit)", "ml-100k", "explicit", ("u1",),
          EXPLICIT_MODELS, seeds=(0, 1, 2)),
    Table("ml-100k-5fold", "ML-100K u1-u5 (explicit, 5-fold)", "ml-100k", "explicit",
          ("u1", "u2", "u3", "u4", "u5"), EXPLICIT_MODELS),
    Table("ml-1m-90-10", "ML-1M stand-in 90/10 (explicit)", "ml-1m", "explicit", ("fixed",),
          tuple(m for m in EXPLICIT_MODELS if m != "srmgcnn"), seeds=(0, 1, 2),
          note="ml-1m-bpmf stand-in (6 ratings short of ML-1M), its fixed 90/10 split; "
               "no graphs, so no sRMGCNN"),
    Table("douban", "Douban (explicit)", "douban", "explicit", ("fixed",), EXPLICIT_MODELS,
          seeds=(0, 1, 2)),
    Table("flixster", "Flixster (explicit)", "flixster", "explicit", ("fixed",),
          EXPLICIT_MODELS, seeds=(0, 1, 2)),
    Table("ml-100k-strong", "ML-100K strong generalization (100 held-out users, 3 splits)",
          "ml-100k", "strong", ("strong-0", "strong-1", "strong-2"), RANKING_MODELS,
          heldout_users=100),
    Table("ml-100k-weak", "ML-100K weak generalization (u1)", "ml-100k", "weak", ("u1",),
          RANKING_MODELS, seeds=(0, 1, 2)),
    Table("ml-100k-temporal", "ML-100K time-aware (global cut at the 0.8 time quantile)",
          "ml-100k", "temporal", ("temporal",), RANKING_MODELS, seeds=(0, 1, 2)),
    Table("ml-latest-small-temporal", "ML-latest-small time-aware (0.8 time quantile)",
          "ml-latest-small", "temporal", ("temporal",), RANKING_MODELS, seeds=(0, 1, 2)),
    Table("ml-1m-strong", "ML-1M stand-in strong generalization (600 held-out users, 3 splits)",
          "ml-1m", "strong", ("strong-0", "strong-1", "strong-2"), RANKING_MODELS,
          heldout_users=600),
    Table("ml-1m-weak", "ML-1M stand-in weak generalization (fixed 90/10)", "ml-1m", "weak",
          ("fixed",), RANKING_MODELS, seeds=(0, 1, 2)),
)}

SUITES = {
    "explicit": ("ml-100k-u1", "ml-100k-5fold", "ml-1m-90-10", "douban", "flixster"),
    "implicit": ("ml-100k-strong", "ml-100k-weak", "ml-100k-temporal",
                 "ml-latest-small-temporal", "ml-1m-strong", "ml-1m-weak"),
}
SUITES["all"] = SUITES["explicit"] + SUITES["implicit"]


# ------------------------------------------------------------------------ running a job
def evaluate_model(model, protocol: str, split: Split) -> tuple[dict, dict]:
    """Metrics (means) and per-user values of a fitted model on a split under a protocol."""
    if protocol == "explicit":
        users, per_user = explicit_per_user(model.predict_ratings, split.test)
        pred = model.predict_ratings(split.test.user, split.test.item)
        err = pred - split.test.rating
        metrics = {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
                   "n_test": int(split.test.n_observed)}
        return metrics, {"users": users.tolist(), "mse": per_user["mse"].tolist()}
    popularity = split.train.counts_per_item()
    if protocol == "strong":
        result = evaluate_strong(lambda fold_in, users: model.score_items(users, inputs=fold_in),
                                 split, popularity=popularity, **RANKING_OPTIONS)
    else:
        test = known_test(split)
        result = ranking_per_user(model.score_items, split.train, test,
                                  popularity=popularity, **RANKING_OPTIONS)
    metrics = result.means()
    metrics["n_users"] = len(result.users)
    return metrics, {"users": result.users.tolist(),
                     **{k: np.nan_to_num(v, nan=0.0).tolist() for k, v in result.values.items()
                        if k in ("recall@20", "ndcg@100")}}


def job_key(table: Table, split: Split, model: str, config, seed: int,
            device: str = "cpu") -> str:
    spec = {"v": CACHE_VERSION, "dataset": table.dataset, "protocol": table.protocol,
            "split": split.name, "train": split.train.fingerprint(),
            "test": split.test.fingerprint(),
            "fold_in": None if split.fold_in is None else split.fold_in.fingerprint(),
            "model": model, "config": config.to_dict(), "seed": seed}
    if uses_cold_column_rule(table, split, config):
        # predictions that changed when unseen columns got the row's level profile
        # (Conv4RecEstimator._fill_cold_columns); the other jobs keep their cached results
        spec["cold_columns"] = "level-profile"
    if device != "cpu":
        # another device gives other rounding (and a GPU's atomics another order): its
        # results are cached apart, so a CPU table never reads them (CPU keys are unchanged)
        spec["device"] = device
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def uses_cold_column_rule(table: Table, split: Split, config) -> bool:
    """Whether a Conv4Rec job's explicit metrics depend on the rule for columns without
    training data: test ratings of items (user orientation) or users (item orientation) that
    have no training rating."""
    if table.protocol != "explicit" or not isinstance(config, Conv4RecConfig):
        return False
    train, test = split.train, split.test
    if config.orientation == "user":
        return bool(np.any(np.bincount(train.item, minlength=train.n_items)[test.item] == 0))
    return bool(np.any(np.bincount(train.user, minlength=train.n_users)[test.user] == 0))


class MissingJob(LookupError):
    """A job that ``--cached-only`` needed and the cache does not hold."""


def run_job(table: Table, split: Split, model: str, config, seed: int, cache: Path,
            force: bool = False, device: str = "cpu", cached_only: bool = False,
            any_device: bool = False) -> dict:
    """Fit and evaluate one model on one split with one seed, through the cache; with
    ``cached_only``, read the cached result or raise :class:`MissingJob`, never fit; with
    ``any_device`` too, a result another device cached serves when ``device`` has none."""
    device = job_device(model, device)
    key = job_key(table, split, model, config, seed, device)
    path = cache / f"{key}.json"
    if path.is_file() and not force:
        return json.loads(path.read_text())
    if cached_only:
        record = None
        if any_device:  # the key above missed: another device's run of the job, if any
            record = cached_record(table, split, model, config, seed, cache, device)
        if record is None:
            where = "any device" if any_device else f"device {device}"
            raise MissingJob(f"{path}: no cached result of {model} on table {table.key}, "
                             f"split {split.name}, seed {seed}, {where} (with its current "
                             f"config)")
        return record
    train = split.train
    start = time.perf_counter()
    fitted = build_model(model, config, table.dataset, train, device).fit(train, generator=seed)
    fit_seconds = time.perf_counter() - start
    metrics, per_user = evaluate_model(fitted, table.protocol, split)
    record = {"key": key, "table": table.key, "dataset": table.dataset,
              "protocol": table.protocol, "split": split.name, "model": model, "seed": seed,
              "config": config.to_dict(), "metrics": metrics, "per_user": per_user,
              "fit_seconds": fit_seconds, "device": device,
              "eval_seconds": time.perf_counter() - start - fit_seconds}
    atomic_write_text(path, json.dumps(record))
    return record


# --------------------------------------------------------------------------- aggregation
def _runs(table: Table, max_runs: int | None = None,
          seeds: Sequence[int] | None = None) -> list[tuple[str, int]]:
    """(split, seed) pairs: several splits run once each (split k with seed k), one split with
    several seeds; only those with a seed in ``seeds``, then the first ``max_runs``, when
    given."""
    if len(table.splits) > 1:
        runs = [(s, k) for k, s in enumerate(table.splits)]
    else:
        runs = [(table.splits[0], seed) for seed in table.seeds]
    if seeds is not None:
        runs = [r for r in runs if r[1] in seeds]
    return runs[:max_runs] if max_runs else runs


def aggregate(table: Table, records: list[dict], max_runs: int | None = None,
              seeds: Sequence[int] | None = None) -> dict:
    """Mean ± std over runs of every model, and paired tests of Conv4Rec against each model."""
    columns = EXPLICIT_COLUMNS if table.protocol == "explicit" else RANKING_COLUMNS
    by_model: dict[str, list[dict]] = {}
    for r in records:
        by_model.setdefault(r["model"], []).append(r)
    rows = {}
    for model, recs in by_model.items():
        recs = sorted(recs, key=lambda r: (r["split"], r["seed"]))
        rows[model] = {c: summarize([r["metrics"][c] for r in recs]) for c in columns}
        rows[model]["fit_seconds"] = summarize([r["fit_seconds"] for r in recs])
        # where each run ran (records cached before devices were recorded ran on the CPU)
        rows[model]["devices"] = [r.get("device", "cpu") for r in recs]
    tests = {}
    unit_metric = "mse" if table.protocol == "explicit" else "ndcg@100"
    ref = sorted(by_model.get("conv4rec", []), key=lambda r: (r["split"], r["seed"]))
    for model, recs in by_model.items():
        if model == "conv4rec" or not ref:
            continue
        recs = sorted(recs, key=lambda r: (r["split"], r["seed"]))
        pairs = [(a, b) for a in ref for b in recs
                 if a["split"] == b["split"] and a["seed"] == b["seed"]]
        if not pairs:
            continue
        # Per-user units pooled over runs (Wilcoxon), and per-run units (paired t) when >= 2.
        a_units = np.concatenate([p[0]["per_user"][unit_metric] for p in pairs])
        b_units = np.concatenate([p[1]["per_user"][unit_metric] for p in pairs])
        entry = {"metric": unit_metric, "users": paired_test(a_units, b_units)}
        if len(pairs) >= 2:
            main = columns[0] if table.protocol == "explicit" else "ndcg@100"
            entry["runs"] = paired_test([p[0]["metrics"][main] for p in pairs],
                                        [p[1]["metrics"][main] for p in pairs], test="t")
        tests[model] = entry
    # the table's cost: every job's own fit and evaluation time, as recorded when it ran
    seconds = {"fit": float(sum(r["fit_seconds"] for r in records)),
               "eval": float(sum(r.get("eval_seconds", 0.0) for r in records)),
               "jobs": len(records)}
    return {"table": table.key, "title": table.title, "protocol": table.protocol,
            "dataset": table.dataset, "seconds": seconds,
            "runs": [list(r) for r in _runs(table, max_runs, seeds)],
            "columns": list(columns), "rows": rows, "paired_vs_conv4rec": tests,
            "note": table.note}


def _fmt(stat: dict) -> str:
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}" if stat["n"] > 1 else f"{stat['mean']:.4f}"


def to_markdown(summary: dict, command: str) -> str:
    cols = summary["columns"]
    lines = [f"### {summary['title']}", "",
             f"Runs (split, seed): {', '.join(f'{s}/{k}' for s, k in summary['runs'])}. "
             f"Mean ± sample std over runs. Command: `{command}`", ""]
    if summary["note"]:
        lines += [summary["note"], ""]
    sec = summary["seconds"]
    lines += [f"Time: {sec['jobs']} jobs, {sec['fit'] / 60:.1f} min of fitting and "
              f"{sec['eval'] / 60:.1f} min of evaluation in all (the jobs' own times, "
              f"recorded when they ran; a rerun from the cache takes seconds).", ""]
    mixed = {m: row["devices"] for m, row in summary["rows"].items()
             if len(set(row["devices"])) > 1}
    if mixed:
        lines += ["Runs on more than one device (in run order; the fit time is their mean): "
                  + "; ".join(f"{m}: {', '.join(d)}" for m, d in mixed.items()) + ".", ""]
    lines.append("| model | " + " | ".join(cols) + " | fit s | vs Conv4Rec: p (Wilcoxon, "
                 "users) |")
    lines.append("|" + " --- |" * (len(cols) + 3))
    for model, row in summary["rows"].items():
        test = summary["paired_vs_conv4rec"].get(model)
        p = "" if test is None else f"{test['users']['p_value']:.2g} (n={test['users']['n']})"
        lines.append(f"| {model} | " + " | ".join(_fmt(row[c]) for c in cols)
                     + f" | {row['fit_seconds']['mean']:.0f} | {p} |")
    return "\n".join(lines) + "\n"


def to_csv_rows(summary: dict) -> list[dict]:
    out = []
    for model, row in summary["rows"].items():
        for c in summary["columns"]:
            out.append({"table": summary["table"], "model": model, "metric": c,
                        "mean": row[c]["mean"], "std": row[c]["std"], "n": row[c]["n"]})
    return out


# ------------------------------------------------------------------------------- tuning
SEARCH_SPACES: dict[str, dict[str, Sequence]] = {
    "user_item_bias": {"reg_user": [1, 3, 5, 10, 20], "reg_item": [1, 3, 5, 10, 25]},
    "biased_mf": {"dim": [16, 32, 64], "reg": [0.02, 0.05, 0.1, 0.2], "lr": [2e-3, 5e-3]},
    "i_autorec": {"hidden": [300, 500], "l2": [0.1, 1.0, 10.0, 100.0], "lr": [1e-3, 3e-3]},
    "srmgcnn": {"gamma": [0.1, 1.0, 10.0], "rank": [10], "lr": [1e-3, 3e-3]},
    "ease": {"l2": [10, 50, 100, 200, 500, 1000, 2000]},
    "mult_vae": {"anneal_cap": [0.1, 0.2, 0.4], "dropout": [0.3, 0.5],
                 "hidden": [300, 600], "weight_decay": [0.0, 1e-5]},
    "conv4rec": {"in_channels": [4, 8, 16], "out_channels": [4, 8, 16],
                 "hidden": [(128,), (256,), (512,), (512, 256)],
                 "weight_decay": [1e-5, 1e-4, 1e-3],
                 "dropout": [0.0, 0.5, 0.7], "target_fraction": [0.1, 0.25],
                 "input_scaling": ["sqrt", "mean"], "lr_drops": [0, 2],
                 # added after the ML-100K tuning (docs/results.md, third round)
                 "target": ["masked", "all"], "column_l2": [0.0, 1e-4],
                 # added after the Douban and Flixster searches: the implicit part's weight
                 # (beta stays 1: their ratio is what matters) and, above, a second layer
                 "alpha": [0.5, 1.0, 2.0]},
}
SEARCH_SPACES["conv4rec_user"] = SEARCH_SPACES["conv4rec"]


def validation_split(table: Table) -> Split:
    """A validation split carved out of the first split's training part (never its test)."""
    first = table.load(table.splits[0])
    if table.protocol == "strong":
        n = max(1, table.heldout_users // 2)
        return user_fold_in_split(first.train, heldout_users=n, seed=12345, name="val-strong")
    return random_split(first.train, test_fraction=0.1, seed=12345, name="val")


def _config_key(config) -> str:
    """A config's identity for the search: 500 and 500.0 are one value."""
    def number(v):
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
    return json.dumps({k: number(v) for k, v in config.to_dict().items()}, sort_keys=True)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


JOB_DEVICES = ("cpu", "cuda")


def cached_record(table: Table, split: Split, model: str, config, seed: int, cache: Path,
                  device: str) -> dict | None:
    """A finished job of ``config`` from the cache: the one run on ``device``, else one run
    on another device (its record names the device), else None."""
    device = job_device(model, device)
    for dev in (device, *(d for d in JOB_DEVICES if d != device)):
        path = cache / f"{job_key(table, split, model, config, seed, dev)}.json"
        if path.is_file():
            return json.loads(path.read_text())
    return None


def cached_trial(table: Table, split: Split, model: str, config, cache: Path,
                 device: str) -> dict | None:
    """A finished tuning trial (seed 0) of ``config`` from the cache, on any device. A trial
    only ranks configs, and another device changes a score by rounding alone, so a search can
    be finished on another machine than the one it began on; a table mixes devices only when
    asked (``--cached-only --any-device``, its devices listed)."""
    return cached_record(table, split, model, config, 0, cache, device)


def _run_trials(table: Table, split: Split, model: str, configs: list, cache: Path,
                device: str, workers: int, progress: bool) -> list[dict]:
    """The record of every config (seed 0): :func:`cached_trial`, else ``run_job``, in
    ``workers`` processes when above 1 (spawned: CUDA cannot be forked); the records come
    back in the order of ``configs``."""
    records = [cached_trial(table, split, model, cfg, cache, device) for cfg in configs]
    todo = [i for i, record in enumerate(records) if record is None]
    desc = f"tune {model} {table.key}"
    if workers <= 1 or len(todo) <= 1:
        for i in tqdm(todo, desc=desc, disable=not progress, leave=False):
            records[i] = run_job(table, split, model, configs[i], 0, cache, device=device)
        return records
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context,
                             initializer=_init_worker,
                             initargs=(torch.get_num_threads(),)) as pool:
        futures = {i: pool.submit(run_job, table, split, model, configs[i], 0, cache, False,
                                  device) for i in todo}
        for _ in tqdm(as_completed(futures.values()), total=len(futures), desc=desc,
                      disable=not progress, leave=False):
            pass
        for i, future in futures.items():
            records[i] = future.result()
    return records


def tune(table: Table, model: str, *, budget: int, seed: int = 0, cache: Path,
         base=None, progress: bool = True, device: str = "cpu", workers: int = 1
         ) -> tuple[object, list[dict]]:
    """Seeded random search of ``budget`` configs on the validation split; writes the best.

    The first trial is ``base`` (default: :func:`base_config`), the others change every key of
    the model's search space at random from it. ``workers`` > 1 runs the trials in that many
    processes at once (the same trials and results: each is one cached job)."""
    cls = model_class(model)
    base = base if base is not None else base_config(model, table.protocol)
    space = SEARCH_SPACES.get(model, {})
    rng = np.random.default_rng(seed)
    candidates = [base]
    seen = {_config_key(base)}
    keys = list(space)
    grid_size = math.prod(len(v) for v in space.values()) if keys else 0
    # distinct configs only, so the budget counts what was tried (a small space is exhausted
    # rather than sampled twice); the draws are those of a plain random search until a repeat
    drawn: set[str] = set()
    while keys and len(candidates) < budget and len(drawn) < grid_size:
        changes = {k: space[k][rng.integers(len(space[k]))] for k in keys}
        cfg = base.replace(**changes)
        text = _config_key(cfg)
        drawn.add(text)
        if text not in seen:
            seen.add(text)
            candidates.append(cfg)
    split = validation_split(table)
    val_table = Table(table.key + "-val", table.title, table.dataset, table.protocol,
                      (split.name,), (model,), heldout_users=table.heldout_users)
    metric, sign = ("rmse", 1.0) if table.protocol == "explicit" else ("ndcg@100", -1.0)
    records = _run_trials(val_table, split, model, candidates, cache, device, workers, progress)
    trials = [{"config": cfg.to_dict(), "score": sign * rec["metrics"][metric],
               "metrics": rec["metrics"], "device": rec.get("device", "cpu")}
              for cfg, rec in zip(candidates, records)]
    best = min(trials, key=lambda t: t["score"])
    base_dict = base.to_dict()
    # every trial, as its changes from the base config and its validation metric, so the
    # file shows how far the winner was from the rest (the first trial is the base itself)
    trial_results = [{"changes": {k: v for k, v in t["config"].items() if base_dict.get(k) != v},
                      metric: t["metrics"][metric], "device": t["device"]} for t in trials]
    out = {"model": model, "dataset": table.dataset, "protocol": table.protocol,
           "selected_by": f"validation {metric}", "budget": budget, "config": best["config"],
           "validation_metrics": best["metrics"], "trials": len(trials),
           "search_space": {k: [list(v) if isinstance(v, tuple) else v for v in values]
                            for k, values in space.items()},
           "trial_results": trial_results,
           "searched_on": "+".join(sorted({t["device"] for t in trials}))}
    CONFIG_DIR.mkdir(exist_ok=True)
    atomic_write_text(config_path(model, table.dataset, table.protocol),
                      json.dumps(out, indent=2, sort_keys=True) + "\n")
    return cls.config_class.from_dict(best["config"]), trials


# --------------------------------------------------------------------------------- main
def run_tables(table_keys: Sequence[str], *, out: Path, models: Sequence[str] | None = None,
               progress: bool = True, force: bool = False, command: str = "",
               suite: str = "custom", max_runs: int | None = None,
               seeds: Sequence[int] | None = None, device: str = "cpu",
               cached_only: bool = False, any_device: bool = False) -> list[dict]:
    """Run (or read from the cache) every job of the tables and write the outputs; with
    ``cached_only``, read every job from the cache (:class:`MissingJob` if one is not there),
    with ``any_device`` too, from another device's cache where ``device``'s has none."""
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = []
    for key in table_keys:
        table = TABLES[key]
        for model in table.models:
            if models and model not in models:
                continue
            for split_name, seed in _runs(table, max_runs, seeds):
                jobs.append((table, split_name, model, seed))
    splits: dict[tuple[str, str], Split] = {}
    records: dict[str, list[dict]] = {k: [] for k in table_keys}
    bar = tqdm(jobs, desc="benchmark", unit="job", disable=not progress)
    for table, split_name, model, seed in bar:
        bar.set_postfix_str(f"{table.key} {split_name} {model} seed {seed}")
        sk = (table.key, split_name)
        if sk not in splits:
            splits[sk] = table.load(split_name)
        config = load_config(model, table.dataset, table.protocol)
        records[table.key].append(run_job(table, splits[sk], model, config, seed, cache, force,
                                          device, cached_only, any_device))
    summaries = [aggregate(TABLES[k], records[k], max_runs, seeds) for k in table_keys
                 if records[k]]
    md = "\n".join(to_markdown(s, command) for s in summaries)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["table", "model", "metric", "mean", "std", "n"])
    writer.writeheader()
    for s in summaries:
        writer.writerows(to_csv_rows(s))
    atomic_write_text(out / f"{suite}.md", md)
    atomic_write_text(out / f"{suite}.csv", buf.getvalue())
    atomic_write_text(out / f"{suite}.json", json.dumps(summaries, indent=2))
    return summaries


def _seed_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None


def cmd_benchmark(args) -> int:
    """The ``benchmark`` subcommand (registered in :mod:`conv4rec.cli`)."""
    torch.set_num_threads(args.threads)
    keys = list(args.tables or SUITES[args.suite])
    if args.datasets:
        keys = [k for k in keys if TABLES[k].dataset in args.datasets]
    unknown = [k for k in keys if k not in TABLES]
    if unknown:
        print(f"error: unknown table(s) {unknown}; known: {', '.join(TABLES)}", file=sys.stderr)
        return 2
    if args.seeds is not None and not any(_runs(TABLES[k], seeds=args.seeds) for k in keys):
        print(f"error: --seeds {','.join(map(str, args.seeds))}: no run of the table(s) "
              f"{', '.join(keys)} has these seeds", file=sys.stderr)
        return 2
    if args.any_device and not args.cached_only:
        print("error: --any-device reads cached jobs only, so it needs --cached-only",
              file=sys.stderr)
        return 2
    if args.cached_only and (args.tune or args.tune_only or args.force):
        print("error: --cached-only fits nothing, so it cannot go with --tune, --tune-only or "
              "--force", file=sys.stderr)
        return 2
    if not args.cached_only:  # reading a GPU's cached results needs no GPU
        try:
            torch_device(args.device, usable=True)
        except argparse.ArgumentTypeError as err:
            print(f"error: argument --device: {err}", file=sys.stderr)
            return 2
    models = args.models.split(",") if args.models else None
    out = Path(args.out)
    command = "python -m conv4rec " + " ".join(getattr(args, "argv", None) or sys.argv[1:])
    if args.tune or args.tune_only:
        for key in keys:
            table = TABLES[key]
            for model in table.models:
                if models and model not in models:
                    continue
                tune(table, model, budget=args.budget, cache=out / "cache",
                     progress=not args.quiet, device=args.device, workers=args.workers)
        if args.tune_only:
            print("tuned configs written under conv4rec/configs/; tables not run (--tune-only)")
            return 0
    try:
        summaries = run_tables(keys, out=out, models=models, progress=not args.quiet,
                               force=args.force, command=command,
                               suite=args.name or args.suite, max_runs=args.runs,
                               seeds=args.seeds, device=args.device,
                               cached_only=args.cached_only, any_device=args.any_device)
    except MissingJob as err:
        print(f"error: --cached-only: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summaries, indent=2))
    else:
        print("\n".join(to_markdown(s, command) for s in summaries))
        print(f"wrote {out / (args.name or args.suite)}.md, .csv, .json")
    return 0


def add_benchmark_parser(sub) -> None:
    """Register ``benchmark`` on the CLI's subparsers."""
    p = sub.add_parser("benchmark", help="benchmark tables: Conv4Rec against the baselines",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", choices=sorted(SUITES), default="explicit")
    p.add_argument("--tables", nargs="+", help=f"tables to run instead of a suite: "
                   f"{', '.join(TABLES)}")
    p.add_argument("--datasets", nargs="+", help="keep only the tables of these datasets")
    p.add_argument("--models", help="comma-separated models to run (default: the table's)")
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--name", help="output file stem (default: the suite name)")
    p.add_argument("--tune", action="store_true", help="tune each model on a validation split "
                   "first and save the best config under conv4rec/configs/")
    p.add_argument("--tune-only", action="store_true",
                   help="tune as --tune does, write the configs and stop (no tables)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="tuning trials run at once, each in its own process with --threads "
                        "threads (default 1; e.g. several Conv4Rec trials sharing one GPU)")
    p.add_argument("--budget", type=positive_int, default=6,
                   help="tuning trials per model (default 6)")
    p.add_argument("--runs", type=positive_int, help="run only the first N (split, seed) runs "
                   "of each table (default: all)")
    p.add_argument("--seeds", type=_seed_list, help="run only the runs with these seeds, "
                   "comma-separated (split k of a multi-split table has seed k; default: all); "
                   "e.g. to fill the cache from a second process")
    p.add_argument("--force", action="store_true", help="ignore the cache")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", type=partial(torch_device, usable=False), default="cpu",
                   help="torch device of the Conv4Rec jobs, e.g. cuda (default cpu; the "
                        "baselines always run on the CPU; results on another device are cached "
                        "apart from the CPU's)")
    p.add_argument("--cached-only", action="store_true",
                   help="fit nothing: build the tables from cached jobs only (an error names "
                        "any job that is missing); with --device cuda, reads a GPU's cached "
                        "results on a machine without one")
    p.add_argument("--any-device", action="store_true",
                   help="with --cached-only: a job that --device's cache lacks is read from "
                        "another device's cache (e.g. some runs made on a GPU, the others on "
                        "the CPU); the table lists each run's device")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_benchmark)
