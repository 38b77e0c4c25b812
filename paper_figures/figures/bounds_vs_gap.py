"""Every registered generalization bound G_n(δ) against the measured gap R_η − R̂_η of
Conv4Rec, across a sweep of model sizes and a sweep of sample sizes (log scale; SPEC §7, §9).

The bound values are the ones the ``bounds`` registry computed from each run's checkpoint when
the run finished (the result's ``certificate.bounds``: ``log10_generalization``, exact even
where the value overflows float64); the gap is the run's exact ``conv4rec.gap_eta``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from paper_figures import sources, style
from paper_figures.figures._base import seeds_text, truth_text

NAME = "bounds_vs_gap"
DESCRIPTION = ("each registered bound family G_n(delta) against Conv4Rec's measured "
               "generalization gap, across code widths d and numbers of users (log scale)")
SIZE_SWEEP = sources.SweepSource(
    role="bounds and gap of Conv4Rec (tanh) at each code width d",
    sweeps={"small": ("tv_vs_model_size", "0-1"), "full": ("tv_vs_model_size", "0-2")})
USERS_SWEEP = sources.SweepSource(
    role="bounds and gap of Conv4Rec (relu: every bound applies) at each number of users",
    sweeps={"small": ("bounds_vs_gap", "0-1"), "full": ("bounds_vs_gap", "0-2")})
REQUIRES = (SIZE_SWEEP, USERS_SWEEP)
FIGSIZE = (7.0, 4.6)
TITLE_A = "(a) against model size (tanh)"
TITLE_B = "(b) against the number of users (relu)"


def _collect(data: sources.SweepData) -> tuple[dict, dict, list[str], float | None]:
    """Per bound and x: log10 G over seeds; per x: gaps over seeds; notes; the loss range B."""
    x_of = data.x_of
    log10_g: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    gaps: dict[float, list[float]] = defaultdict(list)
    not_applicable: set[str] = set()
    loss_range = None
    for env in data.envelopes:
        res = env["result"]
        x = float(x_of[env["hash"]])
        gaps[x].append(res["conv4rec"]["gap_eta"])
        cert = res.get("certificate", {})
        for name, b in cert.get("bounds", {}).items():
            if b.get("log10_generalization") is not None:
                log10_g[name][x].append(b["log10_generalization"])
        for note in cert.get("notes", []):
            head = note.split(":")[0]
            if head.endswith("not applicable"):
                not_applicable.add(head.removesuffix(" not applicable"))
        t = res["truth"]
        loss_range = math.log(t["n_levels"] * t["n_items"] / cert.get("eta", env["config"]["eta"]))
    return log10_g, gaps, sorted(not_applicable), loss_range


def _notes(data: sources.SweepData, title: str) -> list[str]:
    """What the caption must say about a panel: bounds left out, coinciding bounds, gaps <= 0."""
    log10_g, gaps, not_applicable, _ = _collect(data)
    positive = np.array([np.mean(gaps[x]) > 0 for x in gaps])
    notes = []
    if not_applicable:
        families = sorted({style.bound_style(b)[0].split(" (")[0].split(",")[0]
                           for b in not_applicable})
        notes.append(f"{' and '.join(families)} not applicable in {title[:3]} (every form; "
                     "the bound needs positively homogeneous activations, tanh is not)")
    full, simple = log10_g.get("golowich2018_frobenius"), log10_g.get(
        "golowich2018_frobenius_simplified")
    if full and simple and all(abs(np.mean(full[x]) - np.mean(simple.get(x, [np.inf])))
                               < 0.005 for x in full):
        notes.append(f"in {title[:3]} the two Golowich et al. forms coincide (equal input "
                     "norms across users)")
    if not np.all(positive):
        notes.append(f"{int((~positive).sum())} point(s) with a gap <= 0 not drawn")
    return notes


def _panel(ax, data: sources.SweepData, xlabel: str, title: str) -> None:
    log10_g, gaps, _, loss_range = _collect(data)
    xs = np.array(sorted(gaps))
    names = [b for b in style.BOUNDS if b in log10_g] + [b for b in log10_g
                                                         if b not in style.BOUNDS]
    for name in names:
        label, colour, marker, ls = style.bound_style(name)
        pts = log10_g[name]
        bx = np.array(sorted(pts))
        mid = np.array([np.mean(pts[x]) for x in bx])  # geometric mean over seeds
        lo = np.array([np.min(pts[x]) for x in bx])
        hi = np.array([np.max(pts[x]) for x in bx])
        hollow = "simplified" in name
        ax.plot(bx, 10 ** mid, ls=ls, marker=marker, color=colour, label=label,
                mfc="white" if hollow else colour, zorder=3)
        if np.any(hi > lo):
            ax.fill_between(bx, 10 ** lo, 10 ** hi, color=colour, alpha=0.15, lw=0)
    gap_mean = np.array([np.mean(gaps[x]) for x in xs])
    positive = gap_mean > 0
    ax.errorbar(xs[positive], gap_mean[positive],
                yerr=None if all(len(gaps[x]) < 2 for x in xs) else
                np.array([[gap_mean[k] - min(gaps[x]), max(gaps[x]) - gap_mean[k]]
                          for k, x in enumerate(xs)])[positive].T,
                color=style.OKABE_ITO["black"], marker="*", ms=8, lw=1.8,
                label=r"measured gap $R_\eta - \hat R_\eta$", zorder=4)
    if loss_range is not None:
        ax.axhline(loss_range, color=style.OKABE_ITO["grey"], ls="--", lw=1.0, zorder=1)
        ax.annotate(rf"loss range $B = \log(Cm/\eta)$ = {loss_range:.1f}: any bound above "
                    "is vacuous", (0.02, loss_range), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=6.8,
                    color="#555555", va="bottom")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{int(x)}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=8.5)


def draw(root: Path, size: str) -> style.Figure:
    by_size = SIZE_SWEEP.load(root, size)
    by_users = USERS_SWEEP.load(root, size)
    r_size = by_size.envelopes[0]["result"]
    r_users = by_users.envelopes[-1]["result"]
    n_draws = by_size.envelopes[0]["config"]["n_per_user"]
    delta = by_size.envelopes[0]["config"]["delta"]
    text = (f"(a) sweep '{by_size.sweep.name}': {truth_text(r_size)}, {n_draws} draws per user, "
            f"{seeds_text(by_size.seeds)}; (b) sweep '{by_users.sweep.name}': relu model, "
            f"{r_users['truth']['n_items']} items, {n_draws} draws per user, "
            f"{seeds_text(by_users.seeds)}. Each bound holds with probability >= {1 - delta:g} "
            f"(delta = {delta:g}); "
            "lines: geometric mean over seeds, bands and bars: range over seeds. "
            "Gap: exact population risk minus the training risk, both under the bounded loss.")
    notes = _notes(by_size, TITLE_A) + _notes(by_users, TITLE_B)
    if notes:
        text += " " + "; ".join(notes) + "."
    fig = style.new_figure(*FIGSIZE, caption_lines=style.caption_lines(text, FIGSIZE[0]))
    ax_a, ax_b = fig.subplots(1, 2, sharey=True)
    _panel(ax_a, by_size, style.LABELS["hidden"], TITLE_A)
    _panel(ax_b, by_users, style.LABELS["n_users"], TITLE_B)
    ax_a.set_ylabel(r"bound $G_n(\delta)$ or gap (nats, log scale)")
    handles: dict[str, object] = {}
    for ax in (ax_a, ax_b):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    order = [style.bound_style(b)[0] for b in style.BOUNDS] + [lab for lab in handles]
    labels = [lab for lab in dict.fromkeys(order) if lab in handles]
    fig.legend([handles[lab] for lab in labels], labels, loc="outside upper center", ncol=3,
               fontsize=7.2)
    style.caption(fig, text)
    return fig
