"""Pinsker tightness: the measured E TV against its Pinsker bound sqrt(E KL / 2), for every
estimator and truth, and the ratio of the two against the sample size (SPEC §6)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from paper_figures import sources, style
from paper_figures.figures._base import mean_ci, seeds_text, truth_text
from paper_figures.figures.tv_vs_n import TV_SWEEP

NAME = "pinsker"
DESCRIPTION = ("Pinsker tightness: measured E TV against sqrt(E KL / 2) on every truth, and "
               "the ratio E TV / sqrt(E KL / 2) against interactions per user")
PINSKER_SWEEP = sources.SweepSource(
    role="TV and KL of every estimator on every truth",
    sweeps={"small": ("pinsker", "0"), "full": ("pinsker", "0-2")})
REQUIRES = (PINSKER_SWEEP, TV_SWEEP)
FIGSIZE = (7.0, 4.0)


def draw(root: Path, size: str) -> style.Figure:
    pins = PINSKER_SWEEP.load(root, size)
    tvn = TV_SWEEP.load(root, size)
    n_values = sorted({e["config"]["n_per_user"] for e in pins.envelopes})
    sizes = " / ".join(sorted({truth_text(e["result"]) for e in pins.envelopes}))
    text = (f"(a) sweep '{pins.sweep.name}': each point one run (estimator x truth x n in "
            f"{n_values} draws per user, {seeds_text(pins.seeds)}, "
            f"{sizes}); hollow markers: n = {n_values[0]}, filled: n = {n_values[-1]}. "
            f"(b) sweep '{tvn.sweep.name}' ('separate' truth, {seeds_text(tvn.seeds)}): mean "
            "ratio over seeds, bars: 95% t-interval. Pinsker's inequality with Jensen's "
            "guarantees a ratio <= 1.")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    ax_a, ax_b = fig.subplots(1, 2, width_ratios=(1.0, 1.1))

    # (a) scatter
    lo, hi = np.inf, 0.0
    truths, ests = [], []
    for env in pins.envelopes:
        truth = env["config"]["truth"]["kind"]
        n = env["config"]["n_per_user"]
        truths.append(truth)
        for est, m in env["result"]["estimators"].items():
            ests.append(est)
            label, colour, _ = style.estimator_style(est)
            _, marker = style.truth_style(truth)
            filled = n != n_values[0]
            ax_a.scatter(m["pinsker_bound"], m["tv"], marker=marker, s=26,
                         facecolor=colour if filled else "white", edgecolor=colour, lw=1.1,
                         zorder=3)
            lo = min(lo, m["tv"], m["pinsker_bound"])
            hi = max(hi, m["tv"], m["pinsker_bound"])
    lo, hi = lo / 1.2, hi * 1.2
    line = np.array([lo, hi])
    ax_a.plot(line, line, color=style.OKABE_ITO["black"], lw=1.0, zorder=1)
    ax_a.fill_between(line, line, hi, color="#EEEEEE", zorder=0, lw=0)
    ax_a.text(0.03, 0.97, "excluded by Pinsker (TV > bound)", transform=ax_a.transAxes,
              fontsize=7, color="#555555", va="top")
    ax_a.plot(line, 0.7 * line, color=style.OKABE_ITO["grey"], lw=0.8, ls=":", zorder=1)
    ax_a.annotate("TV = 0.7 × bound", (hi / 1.1, 0.7 * hi / 1.1), xytext=(0, -4),
                  textcoords="offset points", ha="right", va="top", fontsize=6.8,
                  color="#555555", rotation=45, rotation_mode="anchor")
    ax_a.set_xscale("log")
    ax_a.set_yscale("log")
    ax_a.set_xlim(lo, hi)
    ax_a.set_ylim(lo, hi)
    style.log_ticks(ax_a, "x", lo, hi)
    style.log_ticks(ax_a, "y", lo, hi)
    ax_a.set_aspect("equal")
    ax_a.set_xlabel(style.LABELS["pinsker"])
    ax_a.set_ylabel(style.LABELS["tv"])
    ax_a.set_title("(a) every run against its bound", fontsize=8.5)
    est_order = [e for e in style.ESTIMATORS if e in ests]
    handles = [Line2D([], [], ls="none", marker="o", color=style.estimator_style(e)[1])
               for e in est_order]
    labels = [style.estimator_style(e)[0] for e in est_order]
    truth_order = [t for t in style.TRUTHS if t in truths]
    handles += [Line2D([], [], ls="none", marker=style.truth_style(t)[1], color="#555555",
                       mfc="white") for t in truth_order]
    labels += [style.truth_style(t)[0] for t in truth_order]
    # the region above the diagonal is empty by Pinsker's inequality: the legend goes there
    ax_a.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 0.92), fontsize=6.6,
                handletextpad=0.3, borderaxespad=0.2, labelspacing=0.3)

    # (b) ratio against n
    x_of = tvn.x_of
    ratios: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for env in tvn.envelopes:
        for est, m in env["result"]["estimators"].items():
            ratios[est][float(x_of[env["hash"]])].append(m["pinsker_ratio"])
    for est in [e for e in style.ESTIMATORS if e in ratios]:
        label, colour, marker = style.estimator_style(est)
        xs = np.array(sorted(ratios[est]))
        st = np.array([mean_ci(ratios[est][x]) for x in xs])
        ax_b.errorbar(xs, st[:, 0], yerr=[st[:, 0] - st[:, 1], st[:, 2] - st[:, 0]],
                      marker=marker, color=colour, label=label)
    ax_b.axhline(1.0, color=style.OKABE_ITO["black"], lw=1.0)
    ax_b.text(xs[0], 1.0, "Pinsker bound (ratio 1)", va="bottom", fontsize=7, color="#333333")
    ax_b.set_xscale("log", base=2)
    ax_b.set_xticks(xs, [f"{int(x)}" for x in xs])
    ax_b.minorticks_off()
    ax_b.set_ylim(0.4, 1.08)
    ax_b.set_xlabel(style.LABELS["n_per_user"])
    ax_b.set_ylabel(r"$\mathbb{E}_u\,\mathrm{TV} \,/\, \sqrt{\mathbb{E}_u\,\mathrm{KL}/2}$")
    ax_b.set_title("(b) tightness ratio against sample size", fontsize=8.5)
    ax_b.legend(loc="lower right", fontsize=7)
    style.caption(fig, text)
    return fig
