"""The caches the figures read, how to tell whether they are there, and the command that makes
each one.

Two producers write the caches, both under one results root (``--results DIR``, else
``$CONV4REC_RESULTS``, else ``results/``):

* ``python -m simulations run SWEEP --seeds S`` writes ``<root>/<sweep>/<hash>-seed<k>.json``
  (and the run's checkpoint ``.pt`` beside it), read here through ``simulations.sweeps.collect``
  so that a stale or foreign file counts as missing exactly as it does for the producer;
* ``python -m conv4rec benchmark --tables ... --name NAME --out <root>`` writes the tables'
  summaries to ``<root>/<NAME>.json`` and every job's record (with per-user values) to
  ``<root>/cache/<key>.json``.

Each source names its cache for two sizes: ``small`` (the default, what ``make figures``
rebuilds in minutes on 2 cores) and ``full`` (the sizes of the paper, hours). A figure reads
every seed that is cached, so a figure built at ``small`` after a ``full`` run shows the full
data wherever the sweep is the same.

Nothing here computes a result: a source that is missing raises :class:`MissingCacheError`
with the exact command that produces it.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SIZES = ("small", "full")
RESULTS_ENV = "CONV4REC_RESULTS"  # the same variable as simulations.cache.RESULTS_ENV
DEFAULT_JOBS = 2


class MissingCacheError(RuntimeError):
    """A cache a figure needs is not there; the message gives the command that produces it."""

    def __init__(self, figure: str, problems: Sequence[tuple[str, str]]) -> None:
        self.figure = figure
        self.problems = list(problems)
        self.commands = list(dict.fromkeys(cmd for _, cmd in problems))
        lines = [f"figure {figure!r}: missing cached results"]
        for what, _ in problems:
            lines.append(f"  - {what}")
        lines.append("produce them with:")
        lines += [f"  {cmd}" for cmd in self.commands]
        lines.append("(or `python -m paper_figures all --build-caches`, which runs every missing "
                     "command)")
        super().__init__("\n".join(lines))


def results_root(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ``$CONV4REC_RESULTS``, else ``results`` (the producers' default)."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(RESULTS_ENV) or "results")


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"size={size!r}: expected one of {SIZES}")


def _root_arg(root: Path) -> str:
    return shlex.quote(str(root))


# ------------------------------------------------------------------------- simulations
@dataclass(frozen=True)
class SweepData:
    """A sweep's cached runs: the :class:`simulations.sweeps.Sweep`, its envelopes (every
    cached seed), the table summary of ``simulations.report.summarise`` and where they live."""

    sweep: Any
    envelopes: list[dict]
    summary: dict[str, Any]
    root: Path

    @property
    def x_of(self) -> dict[str, Any]:
        """Config hash -> the sweep's x value."""
        return {cfg.short_hash(): x for x, cfg in self.sweep.points}

    @property
    def seeds(self) -> list[int]:
        return sorted({e["seed"] for e in self.envelopes})

    def checkpoint(self, envelope: dict) -> Path:
        return self.root / self.sweep.name / f"{envelope['hash']}-seed{envelope['seed']}.pt"

    def find(self, x: Any, seed: int) -> dict | None:
        """The envelope of point ``x`` and ``seed``, or None."""
        for env in self.envelopes:
            if env["seed"] == seed and self.x_of.get(env["hash"]) == x:
                return env
        return None


@dataclass(frozen=True)
class SweepSource:
    """Results of a simulation sweep.

    role : what the figure reads from it.
    sweeps : per size, (sweep name, seeds as ``--seeds`` text).
    checkpoints : whether the runs' checkpoints (``.pt``) are read too.
    """

    role: str
    sweeps: Mapping[str, tuple[str, str]]
    checkpoints: bool = False

    def sweep_seeds(self, size: str) -> tuple[str, str]:
        _check_size(size)
        return self.sweeps[size]

    def command(self, root: Path, size: str) -> str:
        name, seeds = self.sweep_seeds(size)
        return (f"python -m simulations run {name} --seeds {seeds} --jobs {DEFAULT_JOBS} "
                f"--results {_root_arg(root)}")

    def argv(self, root: Path, size: str) -> list[str]:
        name, seeds = self.sweep_seeds(size)
        return ["-m", "simulations", "run", name, "--seeds", seeds, "--jobs", str(DEFAULT_JOBS),
                "--results", str(root), "--quiet"]

    def describe(self, root: Path, size: str) -> str:
        name, seeds = self.sweep_seeds(size)
        kind = "results and checkpoints" if self.checkpoints else "results"
        return f"{root / name}/*-seed<k>.json: sweep {name!r}, seeds {seeds}, {kind} ({self.role})"

    def missing(self, root: Path, size: str) -> list[str]:
        """Why the cache is incomplete (empty when it is complete)."""
        from simulations.sweeps import collect, get_sweep, parse_seeds

        name, seeds = self.sweep_seeds(size)
        sweep = get_sweep(name)
        found, missing = collect(sweep, root=root, seeds=parse_seeds(seeds))
        problems = []
        if missing:
            problems.append(f"sweep {name!r} in {root}: {len(missing)} of "
                            f"{len(missing) + len(found)} runs (x, seed) not cached, e.g. "
                            f"{missing[0][0]!r} seed {missing[0][1]}")
        if self.checkpoints:
            absent = [e for e in found
                      if not (root / name / f"{e['hash']}-seed{e['seed']}.pt").is_file()]
            if absent:
                problems.append(f"sweep {name!r} in {root}: {len(absent)} run checkpoints (.pt) "
                                f"missing, e.g. {absent[0]['hash']}-seed{absent[0]['seed']}.pt")
        return problems

    def load(self, root: Path, size: str) -> SweepData:
        """Every cached seed of the sweep (after :meth:`missing` said it is complete)."""
        from simulations.report import summarise
        from simulations.sweeps import collect, get_sweep

        name, _ = self.sweep_seeds(size)
        sweep = get_sweep(name)
        envelopes, _ = collect(sweep, root=root, seeds=None)
        order = {cfg.short_hash(): k for k, (_, cfg) in enumerate(sweep.points)}
        envelopes.sort(key=lambda e: (order[e["hash"]], e["seed"]))
        return SweepData(sweep=sweep, envelopes=envelopes, summary=summarise(sweep, envelopes),
                         root=root)


# --------------------------------------------------------------------------- benchmark
@dataclass(frozen=True)
class BenchmarkSource:
    """Real-data tables written by ``python -m conv4rec benchmark``.

    name : the output stem (``<root>/<name>.json``).
    tables : the table keys the file must hold.
    args : per size, the extra arguments of the command (``--runs``, ``--models``).
    """

    role: str
    name: str
    tables: tuple[str, ...]
    args: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def path(self, root: Path) -> Path:
        return root / f"{self.name}.json"

    def _args(self, root: Path, size: str) -> list[str]:
        _check_size(size)
        return ["benchmark", "--tables", *self.tables, *self.args.get(size, ()), "--name",
                self.name, "--out", str(root)]

    def command(self, root: Path, size: str) -> str:
        data = "" if os.environ.get("CONV4REC_DATA") else "CONV4REC_DATA=/path/to/data "
        return data + "python -m conv4rec " + " ".join(shlex.quote(a)
                                                       for a in self._args(root, size))

    def argv(self, root: Path, size: str) -> list[str]:
        return ["-m", "conv4rec", *self._args(root, size), "--quiet"]

    def describe(self, root: Path, size: str) -> str:
        return f"{self.path(root)}: tables {', '.join(self.tables)} ({self.role})"

    def expected(self, table: str, size: str) -> tuple[int, tuple[str, ...]]:
        """(runs, models) a table needs at ``size``: ``--runs``/``--models`` of the command,
        else every run (several splits once each, or one split with several seeds) and every
        model of the table in ``conv4rec.benchmark.TABLES``."""
        from conv4rec.benchmark import TABLES

        spec = TABLES[table]
        args = list(self.args.get(size, ()))
        runs = (int(args[args.index("--runs") + 1]) if "--runs" in args else
                len(spec.splits) if len(spec.splits) > 1 else len(spec.seeds))
        models = (tuple(args[args.index("--models") + 1].split(",")) if "--models" in args
                  else spec.models)
        return runs, models

    def missing(self, root: Path, size: str) -> list[str]:
        """Why the file does not hold what ``size`` needs (empty when it does): every table,
        with at least the expected runs and models (a larger run satisfies a smaller size)."""
        _check_size(size)
        path = self.path(root)
        try:
            summaries = json.loads(path.read_text())
        except FileNotFoundError:
            return [f"{path}: no such file"]
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            return [f"{path}: unreadable ({type(exc).__name__})"]
        have = ({s.get("table"): s for s in summaries if isinstance(s, dict)}
                if isinstance(summaries, list) else {})
        problems = []
        for table in self.tables:
            if table not in have:
                problems.append(f"{path}: table {table} not in the file")
                continue
            runs, models = self.expected(table, size)
            got_runs = len(have[table].get("runs", []))
            absent = [m for m in models if m not in have[table].get("rows", {})]
            if got_runs < runs:
                problems.append(f"{path}: table {table} has {got_runs} run(s), {size} size "
                                f"needs {runs}")
            if absent:
                problems.append(f"{path}: table {table} lacks model(s) {', '.join(absent)}")
        return problems

    def load(self, root: Path) -> list[dict]:
        """The summaries of this source's tables, in :attr:`tables` order."""
        summaries = {s["table"]: s for s in json.loads(self.path(root).read_text())}
        return [summaries[t] for t in self.tables if t in summaries]


def benchmark_records(root: Path, summary: dict) -> dict[str, list[dict]]:
    """The cached job records (``<root>/cache/*.json``, with per-user values) behind one table
    summary, by model: the records of the table's (split, seed) runs whose metrics average to
    the summary's means. A model whose records cannot be matched is left out.
    """
    runs = {(s, int(k)) for s, k in summary.get("runs", [])}
    candidates: dict[str, dict[tuple[str, int], list[dict]]] = {}
    cache = root / "cache"
    if not cache.is_dir():
        return {}
    for path in sorted(cache.glob("*.json")):
        try:
            text = path.read_text()
        except OSError:
            continue
        # cheap filter before parsing the (large) per-user lists
        if f'"{summary["table"]}"' not in text[:2000]:
            continue
        try:
            rec = json.loads(text)
        except json.JSONDecodeError:
            continue
        if rec.get("table") != summary["table"] or (rec.get("split"), rec.get("seed")) not in runs:
            continue
        candidates.setdefault(rec["model"], {}).setdefault(
            (rec["split"], rec["seed"]), []).append(rec)
    out = {}
    main = summary["columns"][0]
    for model, by_run in candidates.items():
        row = summary["rows"].get(model)
        if row is None or set(by_run) != runs:
            continue
        # one record per run: the one whose metric matches; several configs of one run can be
        # cached (tuning, older configs), and only the summary's mean tells them apart
        chosen = []
        for run in sorted(runs):
            recs = by_run[run]
            if len(recs) == 1:
                chosen.append(recs[0])
            elif row[main]["n"] == 1:
                best = min(recs, key=lambda r: abs(r["metrics"][main] - row[main]["mean"]))
                chosen.append(best)
            else:
                chosen = []
                break
        if chosen and abs(sum(r["metrics"][main] for r in chosen) / len(chosen)
                          - row[main]["mean"]) <= 1e-9 * max(1.0, abs(row[main]["mean"])):
            out[model] = chosen
    return out


# ------------------------------------------------------------------------------ checking
Source = SweepSource | BenchmarkSource


def check(figure: str, sources: Sequence[Source], root: Path, size: str) -> None:
    """Raise :class:`MissingCacheError` naming every missing cache and its command."""
    problems = []
    for src in sources:
        for why in src.missing(root, size):
            problems.append((why, src.command(root, size)))
    if problems:
        raise MissingCacheError(figure, problems)
