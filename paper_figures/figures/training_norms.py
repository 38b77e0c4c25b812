"""Frobenius norms of Conv4Rec's weight matrices, and their distances to initialisation,
during training, for each code width d (SPEC §7: the quantities the bounds are built from).

Read from the ``history`` of each run's checkpoint metadata (``docs/checkpoint_format.md``):
one record per epoch with ``norms[weight] = {"fro", "fro_dist"}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paper_figures import sources, style
from paper_figures.figures._base import truth_text

NAME = "training_norms"
DESCRIPTION = ("Frobenius norm of each weight matrix and its distance to initialisation "
               "during training, per code width d, with the early-stopping epoch marked")
NORMS_SWEEP = sources.SweepSource(
    role="training history (per-epoch norms) in the checkpoints of each code width d",
    sweeps={"small": ("tv_vs_model_size", "0-1"), "full": ("tv_vs_model_size", "0-2")},
    checkpoints=True)
REQUIRES = (NORMS_SWEEP,)
FIGSIZE = (7.0, 5.2)

#: Layer (architecture name) -> panel title.
LAYER_TITLES = {
    "input_conv": r"input 1$\times$1 convolution $A_{in}$",
    "encoder.0": r"encoder $W_{enc}$",
    "decoder": r"decoder $W_{dec}$",
    "output_conv": r"output 1$\times$1 convolution $A_{out}$",
}
WIDTH_COLOURS = [style.OKABE_ITO[c] for c in ("sky_blue", "blue", "vermillion", "black",
                                              "orange", "green")]


def read_history(path: Path) -> tuple[list[dict], int | None, list[dict]]:
    """(history, best epoch, architecture) of a checkpoint, read with ``weights_only``."""
    from conv4rec.checkpoint import load_checkpoint

    meta = load_checkpoint(path).metadata
    return meta.get("history", []), meta.get("best_epoch"), meta.get("architecture", [])


def draw(root: Path, size: str) -> style.Figure:
    data = NORMS_SWEEP.load(root, size)
    seed = min(data.seeds)
    runs = []
    for x, _ in data.sweep.points:
        env = data.find(x, seed)
        if env is None:
            continue
        history, best, arch = read_history(data.checkpoint(env))
        runs.append((x, history, best, arch))
    weights = [(layer["name"], layer["weight"]) for layer in runs[0][3]] or \
        [(k.removesuffix(".weight"), k) for k in runs[0][1][0]["norms"]]
    first = data.envelopes[0]
    text = (f"Sweep '{data.sweep.name}', seed {seed}: Conv4Rec on the '"
            f"{first['result']['truth']['kind']}' truth ({truth_text(first['result'])}, "
            f"{first['config']['n_per_user']} draws per user), one run per code width d. "
            "Solid: Frobenius norm; dashed: distance to the initial weights; dot: the epoch "
            "kept by early stopping (the saved model). Log scale.")
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for k, (ax, (layer, key)) in enumerate(zip(axes, weights)):
        for j, (x, history, best, _) in enumerate(runs):
            colour = WIDTH_COLOURS[j % len(WIDTH_COLOURS)]
            epochs = np.array([h["epoch"] for h in history])
            fro = np.array([h["norms"][key]["fro"] for h in history])
            dist = np.array([h["norms"][key]["fro_dist"] for h in history])
            ax.plot(epochs, fro, color=colour, lw=1.4, label=f"d = {x}")
            ax.plot(epochs, dist, color=colour, lw=1.2, ls="--")
            if best is not None and 1 <= best <= len(history):
                ax.plot([best, best], [fro[best - 1], dist[best - 1]], ls="none", marker="o",
                        ms=4, color=colour, zorder=4)
        ax.set_yscale("log")
        style.log_ticks(ax, "y", *ax.get_ylim())
        ax.set_title(LAYER_TITLES.get(layer, layer), fontsize=8.5)
        if k % 2 == 0:
            ax.set_ylabel("norm (log scale)")
        if k >= 2:
            ax.set_xlabel(style.LABELS["epoch"])
    for ax in axes[len(weights):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="#555555", lw=1.4),
                Line2D([], [], color="#555555", lw=1.2, ls="--"),
                Line2D([], [], color="#555555", ls="none", marker="o", ms=4)]
    labels += [r"$\|W\|_F$", r"$\|W - W_0\|_F$", "kept epoch"]
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels))
    style.caption(fig, text)
    return fig
