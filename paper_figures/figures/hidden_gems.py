"""Consumption against P(high) for a few users: every item at the model's predicted
(q_u(i), P(high | i)), the model's hidden gems marked and the true ones circled (SPEC §4, F5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from paper_figures import sources, style
from paper_figures.figures import _predictions as pred
from paper_figures.figures._base import truth_text

NAME = "hidden_gems"
DESCRIPTION = ("predicted consumption against predicted P(high) for three users, with "
               "Conv4Rec's hidden gems marked and the true hidden gems circled")
GEMS_SWEEP = sources.SweepSource(
    role="Conv4Rec checkpoint of the 'separate' truth at 256 draws per user",
    sweeps={"small": ("hidden_gems", "0"), "full": ("hidden_gems", "0-2")}, checkpoints=True)
REQUIRES = (GEMS_SWEEP,)
POINT = "separate/256"
USERS = (0, 1, 2)
FIGSIZE = (7.0, 3.5)


def draw(root: Path, size: str) -> style.Figure:
    data = GEMS_SWEEP.load(root, size)
    run = pred.load_run(data, POINT)
    levels = run.levels
    q_cons = pred.consumption(run.log_q)
    q_high = pred.prob_high(run.log_q, levels)
    model_gems = pred.hidden_gems(run.log_q, levels, run.gem_k, run.gem_fraction)
    true_gems = pred.hidden_gems(run.log_p, levels, run.gem_k, run.gem_fraction)
    n_items = q_cons.shape[1]
    n_top = int(np.ceil(run.gem_fraction * n_items))
    precision = run.result["estimators"]["conv4rec"]["gem_precision"]
    text = (f"Sweep '{data.sweep.name}', point {POINT}, seed {run.seed}: {truth_text(run.result)}, "
            f"{run.config['n_per_user']} draws per user. Each dot is one of the {n_items} items "
            f"at Conv4Rec's predicted consumption q(i) and P(high | i) (rating >= "
            f"{levels[0] + 0.75 * (levels[-1] - levels[0]):g}). Hidden gems: the {run.gem_k} "
            f"items of highest P(high) outside the user's top {run.gem_fraction:.0%} of "
            f"consumption (right of the dashed line, the model's cut-off). "
            f"Precision@{run.gem_k} over all {q_cons.shape[0]} users: {precision:.2f}.")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    axes = fig.subplots(1, len(USERS), sharey=True)
    lo = q_cons[list(USERS)].min() / 1.5
    hi = q_cons[list(USERS)].max() * 1.5
    for k, (ax, u) in enumerate(zip(axes, USERS)):
        x, y = q_cons[u], q_high[u]
        cut = np.sort(x)[-n_top]
        mine, truth = set(model_gems[u].tolist()), set(true_gems[u].tolist())
        others = np.array([i for i in range(n_items) if i not in mine])
        ax.scatter(x[others], y[others], s=9, color=style.OKABE_ITO["grey"], alpha=0.6, lw=0,
                   label="other items", zorder=2)
        gem_idx = np.array(sorted(mine))
        ax.scatter(x[gem_idx], y[gem_idx], s=22, marker="D", color=style.OKABE_ITO["orange"],
                   edgecolor="none", label="Conv4Rec's hidden gems", zorder=3)
        t_idx = np.array(sorted(truth))
        ax.scatter(x[t_idx], y[t_idx], s=80, facecolor="none",
                   edgecolor=style.OKABE_ITO["blue"], lw=1.2, label="true hidden gems",
                   zorder=4)
        ax.axvline(cut, color=style.OKABE_ITO["black"], ls="--", lw=0.9, zorder=1)
        hits = len(mine & truth)
        ax.set_title(f"user {u}: {hits} of {run.gem_k} true gems found", fontsize=8.5)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.03, 1.03)
        if k == 0:
            ax.set_ylabel("predicted P(high | i)")
    # one x label under the middle panel (a figure-level label would collide with the caption)
    axes[len(axes) // 2].set_xlabel("predicted consumption q(i): the probability that the "
                                    "next interaction is with item i (log scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], color=style.OKABE_ITO["black"], ls="--", lw=0.9))
    labels.append(f"top {run.gem_fraction:.0%} consumption cut-off")
    fig.legend(handles, labels, loc="outside upper center", ncol=4)
    style.caption(fig, text)
    return fig
