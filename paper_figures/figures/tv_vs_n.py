"""TV against the number of interactions per user (log-log), one line per estimator, with the
n^-1/4 and n^-1/2 reference slopes and 95 % confidence bands over seeds (SPEC §6, §9)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from paper_figures import sources, style
from paper_figures.figures._base import mean_ci, seeds_text, truth_text

NAME = "tv_vs_n"
DESCRIPTION = ("TV between the true and learned sampling distributions against interactions "
               "per user, log-log, per estimator, with n^-1/4 and n^-1/2 reference slopes")
TV_SWEEP = sources.SweepSource(
    role="TV of every estimator at each n",
    sweeps={"small": ("demo", "0-2"), "full": ("tv_vs_n", "0-4")})
REQUIRES = (TV_SWEEP,)
FIGSIZE = (6.0, 4.4)


def draw(root: Path, size: str) -> style.Figure:
    data = TV_SWEEP.load(root, size)
    x_of = data.x_of
    by_est: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for env in data.envelopes:
        for est, metrics in env["result"]["estimators"].items():
            by_est[est][float(x_of[env["hash"]])].append(metrics["tv"])
    slopes = data.summary.get("slopes", {})
    first = data.envelopes[0]["result"]
    text = (f"Sweep '{data.sweep.name}', truth '{first['truth']['kind']}' "
            f"({truth_text(first)}); {seeds_text(data.seeds)} per point, {len(data.envelopes)} "
            f"runs. Lines: mean over seeds; bands: 95% t-interval of the mean. Slopes b: OLS "
            f"of log TV on log n over every run, 95% interval.")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    ax = fig.add_subplot()
    xs_all: set[float] = set()
    order = [e for e in style.ESTIMATORS if e in by_est] + [e for e in by_est
                                                           if e not in style.ESTIMATORS]
    for est in order:
        points = by_est[est]
        label, colour, marker = style.estimator_style(est)
        xs = np.array(sorted(points))
        xs_all.update(xs)
        stats = np.array([mean_ci(points[x]) for x in xs])
        fit = slopes.get(est)
        if fit is not None and np.isfinite(fit["slope"]):
            label += f"  b = {fit['slope']:+.2f} [{fit['ci'][0]:+.2f}, {fit['ci'][1]:+.2f}]"
        ax.fill_between(xs, np.clip(stats[:, 1], 1e-6, None), stats[:, 2], color=colour,
                        alpha=0.2, lw=0)
        ax.plot(xs, stats[:, 0], marker=marker, color=colour, label=label,
                lw=2.0 if est == "conv4rec" else 1.3, zorder=3 if est == "conv4rec" else 2)
    # reference slopes through the first point of Conv4Rec (else of the first estimator)
    anchor = by_est.get("conv4rec") or next(iter(by_est.values()))
    x0 = min(anchor)
    y0 = float(np.mean(anchor[x0]))
    grid = np.array(sorted(xs_all))
    for rate, ls, tex in ((0.25, "--", r"$n^{-1/4}$"), (0.5, ":", r"$n^{-1/2}$")):
        ys = y0 * (grid / x0) ** -rate
        ax.plot(grid, ys, ls=ls, color=style.OKABE_ITO["black"], lw=1.0, zorder=1,
                label=f"reference slope {tex}")
        ax.annotate(tex, (grid[-1], ys[-1]), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(grid, [f"{int(x)}" for x in grid])
    ax.set_xlim(grid[0] / 1.15, grid[-1] * 1.5)
    lo, hi = ax.get_ylim()
    style.log_ticks(ax, "y", lo, hi)
    ax.set_xlabel(style.LABELS["n_per_user"])
    ax.set_ylabel(style.LABELS["tv"])
    ax.set_title("Recovery of the sampling distribution: TV against sample size")
    ax.legend(loc="lower left", title="estimator, fitted slope b [95% CI]",
              title_fontsize=7.5)
    style.caption(fig, text)
    return fig
