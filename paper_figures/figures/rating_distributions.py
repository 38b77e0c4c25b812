"""Predicted against true rating distributions p_u(c | i) for a few users and items (SPEC §4:
"a probability for each possible rating", F4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_figures import style
from paper_figures.figures import _predictions as pred
from paper_figures.figures._base import truth_text
from paper_figures.figures.hidden_gems import GEMS_SWEEP, POINT

NAME = "rating_distributions"
DESCRIPTION = ("Conv4Rec's predicted rating distribution p(c | i) against the true one for "
               "three users and three items each (most consumed, a hidden gem, a median item)")
REQUIRES = (GEMS_SWEEP,)
USERS = (0, 1, 2)
FIGSIZE = (7.0, 5.6)


def pick_items(log_p: np.ndarray, levels: np.ndarray, user: int, k: int, fraction: float
               ) -> list[tuple[int, str]]:
    """(item, why) for one user: the most consumed item, the best true hidden gem and the item
    of median consumption, all under the truth."""
    cons = pred.consumption(log_p[user:user + 1])[0]
    order = np.argsort(-cons, kind="stable")
    gem = int(pred.hidden_gems(log_p[user:user + 1], levels, k, fraction)[0, 0])
    picks = [(int(order[0]), "most consumed"), (gem, "true hidden gem"),
             (int(order[len(order) // 2]), "median consumption")]
    return picks


def draw(root: Path, size: str) -> style.Figure:
    data = GEMS_SWEEP.load(root, size)
    run = pred.load_run(data, POINT)
    levels = run.levels
    p_rating = pred.rating_distribution(run.log_p)
    q_rating = pred.rating_distribution(run.log_q)
    p_cons = pred.consumption(run.log_p)
    rating_tv = run.result["estimators"]["conv4rec"]["rating_tv"]
    text = (f"Sweep '{data.sweep.name}', point {POINT}, seed {run.seed}: "
            f"{truth_text(run.result)}, {run.config['n_per_user']} draws per user. Items picked "
            "under the truth. TV: ½ Σ_c |P(c | i) − q(c | i)| of the panel; over all users "
            f"and items, weighted by consumption, the rating TV is {rating_tv:.3f}.")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    axes = fig.subplots(len(USERS), 3, sharex=True, sharey=True)
    width = 0.38
    pos = np.arange(len(levels))
    for r, u in enumerate(USERS):
        for c, (item, why) in enumerate(pick_items(run.log_p, levels, u, run.gem_k,
                                                   run.gem_fraction)):
            ax = axes[r, c]
            p, q = p_rating[u, item], q_rating[u, item]
            ax.bar(pos - width / 2, p, width, color=style.OKABE_ITO["grey"], label="true P(c | i)")
            ax.bar(pos + width / 2, q, width, color=style.OKABE_ITO["blue"],
                   label="Conv4Rec q(c | i)")
            tv = 0.5 * np.abs(p - q).sum()
            ax.set_title(f"user {u}, item {item}: {why}", fontsize=7.8)
            ax.text(0.03, 0.95, f"true P(i) = {p_cons[u, item]:.2g}\nTV = {tv:.2f}",
                    transform=ax.transAxes, va="top", ha="left", fontsize=7)
            ax.grid(axis="x", visible=False)
            if c == 0:
                ax.set_ylabel("probability")
            if r == len(USERS) - 1:
                ax.set_xlabel("rating c")
    axes[0, 0].set_xticks(pos, [f"{v:g}" for v in levels])
    axes[0, 0].set_ylim(0, 1.0)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2)
    style.caption(fig, text)
    return fig
