"""Named sweeps of SPEC §8 and the runner that fills the result cache.

A :class:`Sweep` is a list of (x, ExperimentConfig) points run for several seeds. Running it
skips every (config, seed) already cached, so an interrupted sweep resumes where it stopped;
``--jobs N`` runs the missing ones in N worker processes (each with one torch thread).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from simulations.cache import ResultCache
from simulations.experiment import DEFAULT_MODEL, ExperimentConfig, run
from simulations.truths import DEFAULT_TRUTH, TRUTHS, get_truth

logger = logging.getLogger(__name__)

#: The metrics a table shows when a sweep names none.
DEFAULT_COLUMNS = ("tv", "kl", "pinsker_bound", "pinsker_ratio", "rating_tv", "gem_precision")


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """A named set of experiments.

    name, description : what ``list`` shows.
    axis : the swept quantity (the table's first column).
    points : (x value, config) pairs, in table order.
    seeds : the default seeds.
    columns : the metrics of the table (keys of a run's per-estimator metrics, or of its
        ``conv4rec`` block: train_risk_eta, test_risk_eta, gap_eta, epochs).
    fit_slope : fit log TV against log x per estimator (numeric axes).
    certificate : show the certificate of each registered bound.
    """

    name: str
    description: str
    axis: str
    points: tuple[tuple[Any, ExperimentConfig], ...]
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    fit_slope: bool = False
    certificate: bool = False

    def tasks(self, seeds: Sequence[int] | None = None) -> list[tuple[Any, ExperimentConfig, int]]:
        """(x, config, seed) of every run, point-major."""
        seeds = self.seeds if seeds is None else tuple(seeds)
        return [(x, cfg, seed) for x, cfg in self.points for seed in seeds]


def _default(**changes: Any) -> ExperimentConfig:
    return ExperimentConfig(**changes)


def _tv_vs_n() -> Sweep:
    ns = (8, 16, 32, 64, 128, 256, 512, 1024)
    return Sweep(name="tv_vs_n", axis="n_per_user", fit_slope=True, certificate=True,
                 description="TV against interactions per user on the default truth, Conv4Rec "
                             "and the comparison estimators",
                 points=tuple((n, _default(n_per_user=n)) for n in ns))


def _demo() -> Sweep:
    ns = (8, 16, 32, 64, 128, 256)
    return Sweep(name="demo", axis="n_per_user", fit_slope=True, certificate=True, seeds=(0, 1),
                 description="small TV-against-n sweep of `python -m simulations demo`",
                 points=tuple((n, _default(n_per_user=n)) for n in ns))


def _tv_vs_users() -> Sweep:
    users = (50, 100, 200, 400, 800)
    return Sweep(name="tv_vs_users", axis="n_users", fit_slope=True, certificate=True,
                 description="TV against the number of users (64 draws each), default truth",
                 points=tuple((u, _default(n_per_user=64,
                                           truth=get_truth(DEFAULT_TRUTH, n_users=u)))
                              for u in users))


def _tv_vs_model_size() -> Sweep:
    widths = (4, 16, 64, 256)
    return Sweep(name="tv_vs_model_size", axis="hidden", seeds=(0, 1, 2),
                 columns=("tv", "kl", "rating_tv", "gap_eta", "epochs"),
                 description="Conv4Rec's TV against its code size d (64 draws per user)",
                 points=tuple((w, _default(n_per_user=64, estimators=("conv4rec",),
                                           model=DEFAULT_MODEL.replace(hidden=(w,))))
                              for w in widths))


def _bounds_vs_gap() -> Sweep:
    users = (50, 100, 200, 400, 800)
    # relu: Golowich et al.'s bound needs positively homogeneous activations
    model = DEFAULT_MODEL.replace(activation="relu")
    return Sweep(name="bounds_vs_gap", axis="n_users", certificate=True, seeds=(0, 1, 2),
                 columns=("tv", "train_risk_eta", "test_risk_eta", "gap_eta", "n_rows"),
                 description="every registered bound against the measured gap R_eta - "
                             "R^_eta of Conv4Rec (relu), by number of users",
                 points=tuple((u, _default(n_per_user=64, estimators=("conv4rec",), model=model,
                                           truth=get_truth(DEFAULT_TRUTH, n_users=u)))
                              for u in users))


def _pinsker() -> Sweep:
    return Sweep(name="pinsker", axis="truth/n", seeds=(0, 1, 2),
                 columns=("tv", "kl", "pinsker_bound", "pinsker_ratio",
                          "pinsker_ratio_per_user"),
                 description="Pinsker tightness E TV / sqrt(E KL / 2) on every truth",
                 points=tuple((f"{name}/{n}", _default(n_per_user=n, truth=cfg))
                              for name, cfg in TRUTHS.items() for n in (16, 128)))


def _hidden_gems() -> Sweep:
    return Sweep(name="hidden_gems", axis="truth/n", seeds=(0, 1, 2),
                 columns=("gem_precision", "rating_tv", "consumption_tv", "tv"),
                 description="hidden-gem precision@10 against the truth's gems",
                 points=tuple((f"{name}/{n}", _default(n_per_user=n, truth=TRUTHS[name]))
                              for name in ("separate", "shared_levels") for n in (16, 64, 256)))


def _truths() -> Sweep:
    return Sweep(name="truths", axis="truth", seeds=(0, 1, 2),
                 description="every registered truth at 64 draws per user",
                 points=tuple((name, _default(n_per_user=64, truth=cfg))
                              for name, cfg in TRUTHS.items()))


#: Registered sweeps by name (built on demand: configs are cheap, but keep imports light).
SWEEP_BUILDERS: dict[str, Callable[[], Sweep]] = {
    "demo": _demo,
    "tv_vs_n": _tv_vs_n,
    "tv_vs_users": _tv_vs_users,
    "tv_vs_model_size": _tv_vs_model_size,
    "bounds_vs_gap": _bounds_vs_gap,
    "pinsker": _pinsker,
    "hidden_gems": _hidden_gems,
    "truths": _truths,
}


class SweepError(ValueError):
    """Unknown sweep name or bad seed list."""


def get_sweep(name: str) -> Sweep:
    if name not in SWEEP_BUILDERS:
        raise SweepError(f"unknown sweep {name!r}; registered: {sorted(SWEEP_BUILDERS)}")
    return SWEEP_BUILDERS[name]()


def list_sweeps() -> list[Sweep]:
    return [build() for build in SWEEP_BUILDERS.values()]


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-4"`` -> (0, 1, 2, 3, 4); ``"0,3,7"`` -> (0, 3, 7); ranges and lists combine."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise SweepError(f"--seeds {text!r}: expected a range like 0-4 or a list like "
                         f"0,2,5 of integers >= 0") from None
    if not seeds or min(seeds) < 0:
        raise SweepError(f"--seeds {text!r}: expected integers >= 0")
    return tuple(dict.fromkeys(seeds))


# -------------------------------------------------------------------------------- runner
def _init_worker() -> None:
    torch.set_num_threads(1)


def _work(config: ExperimentConfig, seed: int, checkpoint: str) -> tuple[dict, float]:
    start = time.perf_counter()
    result = run(config, seed, checkpoint_path=checkpoint)
    return result, time.perf_counter() - start


def run_sweep(sweep: Sweep, *, root: str | os.PathLike, seeds: Sequence[int] | None = None,
              jobs: int = 1, progress: bool = True,
              on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every missing (config, seed) of ``sweep`` and cache it; return all envelopes.

    Parameters
    ----------
    root : results directory.
    seeds : seeds to run (the sweep's default when None).
    jobs : worker processes (1 runs in this process).
    progress : show a tqdm bar (on a terminal).
    on_result : called with each new envelope as it is stored.

    Results are stored as they finish; an interruption (Ctrl-C, a crash) loses only the runs
    in flight, and the next call resumes with the missing ones.
    """
    if jobs < 1:
        raise SweepError(f"--jobs {jobs}: expected >= 1")
    cache = ResultCache(root, sweep.name)
    tasks = sweep.tasks(seeds)
    done: dict[tuple[str, int], dict] = {}
    pending = []
    for _, cfg, seed in tasks:
        envelope = cache.load(cfg, seed)
        if envelope is None:
            pending.append((cfg, seed))
        else:
            done[(cfg.short_hash(), seed)] = envelope
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc=sweep.name,
               unit="run", disable=None if progress else True)

    def store(cfg: ExperimentConfig, seed: int, result: dict, seconds: float) -> None:
        envelope = cache.store(cfg, seed, result, wall_seconds=seconds)
        done[(cfg.short_hash(), seed)] = envelope
        bar.update(1)
        if on_result is not None:
            on_result(envelope)

    try:
        if jobs == 1 or len(pending) <= 1:
            for cfg, seed in pending:
                result, seconds = _work(cfg, seed, str(cache.checkpoint_path(cfg, seed)))
                store(cfg, seed, result, seconds)
        else:
            ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch
            with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=ctx,
                                     initializer=_init_worker) as pool:
                futures = {pool.submit(_work, cfg, seed, str(cache.checkpoint_path(cfg, seed))):
                           (cfg, seed) for cfg, seed in pending}
                try:
                    remaining = set(futures)
                    while remaining:
                        finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            cfg, seed = futures[fut]
                            result, seconds = fut.result()
                            store(cfg, seed, result, seconds)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return [done[(cfg.short_hash(), seed)] for _, cfg, seed in tasks]


def collect(sweep: Sweep, *, root: str | os.PathLike,
            seeds: Sequence[int] | None = None) -> tuple[list[dict], list[tuple[Any, int]]]:
    """The cached envelopes of ``sweep`` (no computation) and the (x, seed) still missing.

    With ``seeds=None`` every cached seed of each point is used.
    """
    cache = ResultCache(root, sweep.name)
    found, missing = [], []
    for x, cfg, seed in sweep.tasks(seeds):
        envelope = cache.read(cache.path(cfg, seed), cfg, seed)
        if envelope is None:
            missing.append((x, seed))
        else:
            found.append(envelope)
    if seeds is None and cache.dir.is_dir():
        known = {(e["hash"], e["seed"]) for e in found}
        for x, cfg in sweep.points:
            h = cfg.short_hash()
            for path in sorted(cache.dir.glob(f"{h}-seed*.json")):
                try:
                    seed = int(path.stem.rsplit("-seed", 1)[1])
                except ValueError:
                    continue
                if (h, seed) not in known:
                    envelope = cache.read(path, cfg, seed)
                    if envelope is not None:
                        found.append(envelope)
    return found, missing
