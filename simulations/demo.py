"""``python -m simulations demo``: the demo sweep, its certificate, a table and one figure.

The figure is the only plot the simulations package draws (a quick look for the demo); the
paper's figures are rebuilt from the cached results by ``paper_figures``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simulations.cache import ResultCache
from simulations.report import format_pow10, format_table, summarise
from simulations.sweeps import get_sweep, run_sweep


def plot_tv(summary: dict[str, Any], path: str | os.PathLike) -> Path:
    """Log-log mean TV (± sd over seeds) against the sweep's axis, one line per estimator, with
    the n^-1/4 and n^-1/2 reference slopes through Conv4Rec's first point. Returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no global backend switch
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    by_est: dict[str, list[tuple[float, float, float]]] = {}
    for row in summary["rows"]:
        by_est.setdefault(row["estimator"], []).append(
            (float(row["x"]), row["mean"]["tv"], row["sd"]["tv"] or 0.0))
    for est, pts in by_est.items():
        x, y, e = (np.array(v) for v in zip(*pts))
        ax.errorbar(x, y, yerr=e, marker="o", ms=4, capsize=2, label=est)
    if "conv4rec" in by_est:
        x0, y0, _ = by_est["conv4rec"][0]
        xs = np.array(sorted({p[0] for pts in by_est.values() for p in pts}))
        for rate, style in ((0.25, ":"), (0.5, "--")):
            ax.plot(xs, y0 * (xs / x0) ** -rate, "k" + style, lw=1, label=f"n^-{rate:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(summary["axis"])
    ax.set_ylabel("E_u TV(P_u, q_u)")
    ax.set_title(f"{summary['sweep']}: TV against {summary['axis']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def run_demo(*, root: str | os.PathLike, jobs: int = 2, seeds: tuple[int, ...] | None = None,
             progress: bool = True, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the demo sweep, print its table and certificate (through ``echo``),
    write the figure; return the summary, the figure's and checkpoint's paths and the time."""
    start = time.perf_counter()
    sweep = get_sweep("demo")
    x_last, cfg_last = sweep.points[-1]
    truth = cfg_last.truth
    seeds = sweep.seeds if seeds is None else seeds
    echo(f"Truth {truth.kind!r}: {truth.n_users} users x {truth.n_items} items x "
          f"{len(truth.levels)} levels; n per user in {[x for x, _ in sweep.points]}; "
          f"seeds {list(seeds)}; estimators {list(cfg_last.estimators)}; {jobs} job(s)")
    envelopes = run_sweep(sweep, root=root, seeds=seeds, jobs=jobs, progress=progress)
    summary = summarise(sweep, envelopes)
    echo("")
    echo(format_table(summary))

    cache = ResultCache(root, sweep.name)
    seed0 = seeds[0]
    last = cache.read(cache.path(cfg_last, seed0), cfg_last, seed0)["result"]
    ckpt = cache.checkpoint_path(cfg_last, seed0)
    c4 = last["conv4rec"]
    m = last["estimators"]["conv4rec"]
    echo(f"\nCheckpoint of n = {x_last}, seed {seed0}: {ckpt}")
    echo(f"  R(P) = {last['truth']['entropy']:.4f}   R^_eta (train) = {c4['train_risk_eta']:.4f}"
          f"   R_eta (exact) = {c4['test_risk_eta']:.4f}   gap = {c4['gap_eta']:.4f}")
    echo(f"  E TV = {m['tv']:.4f} <= Pinsker sqrt(excess/2) = {m['pinsker_bound']:.4f} "
          f"(ratio {m['pinsker_ratio']:.3f})")
    cert = last.get("certificate", {})
    for name, b in cert.get("bounds", {}).items():
        echo(f"  {name}: G = {format_pow10(b['log10_generalization'])}, certificate "
             f"{format_pow10(b['log10_certificate'])} ({'holds' if b['holds'] else 'FAILS'}; "
             f"G {'>=' if b['exceeds_gap'] else '<'} gap)")
    for note in cert.get("notes", []):
        echo(f"  note: {note}")
    figure = plot_tv(summary, Path(root) / sweep.name / "tv_vs_n.png")
    seconds = time.perf_counter() - start
    echo(f"\nFigure: {figure}")
    echo(f"Demo finished in {seconds:.1f} s")
    return {"summary": summary, "figure": str(figure), "checkpoint": str(ckpt),
            "seconds": seconds}
