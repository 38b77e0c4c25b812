"""The one style of every figure: fonts, sizes, the colour-blind-safe palette, labels, saving.

Every figure module takes its colours, labels and sizes from here so that the same estimator,
bound or model looks and reads the same in every figure. The palette is Okabe & Ito's
(https://jfly.uni-koeln.de/color/), safe for the common colour-vision deficiencies; each series
also differs by marker or line style, so the figures survive greyscale printing.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with an Agg canvas: nothing here
touches pyplot's global state or the global backend.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Okabe-Ito palette, by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

#: Resolution of the full-size figures (``results/figures``) and of the small README copies.
DPI = 150
DOCS_DPI = 100

#: Figure widths in inches: one column of a paper, and the full page width.
WIDTH_FULL = 7.0
WIDTH_HALF = 3.5

#: Space (in inches) reserved under the axes for the caption line(s).
CAPTION_LINE = 0.16

RC_PARAMS = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "legend.handlelength": 1.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.which": "major",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.5,
    "lines.markersize": 4.5,
    "errorbar.capsize": 2.5,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,  # embed TrueType: editable text in the PDF
    "svg.fonttype": "none",
    "axes.prop_cycle": mpl.cycler(color=[OKABE_ITO[k] for k in (
        "blue", "vermillion", "green", "orange", "purple", "sky_blue", "yellow", "black")]),
}

# ----------------------------------------------------------------------------- the series
#: Simulation estimators: label, colour, marker (the keys of a result's ``estimators``).
ESTIMATORS = {
    "conv4rec": ("Conv4Rec", OKABE_ITO["blue"], "o"),
    "empirical": ("smoothed empirical", OKABE_ITO["orange"], "s"),
    "multvae": ("Mult-VAE (items only)", OKABE_ITO["green"], "^"),
    "independent": ("independent models", OKABE_ITO["purple"], "D"),
}

#: Registered bounds (``bounds.REGISTRY`` names): label, colour, marker, line style.
BOUNDS = {
    "golowich2018_frobenius": ("Golowich et al. 2018 (Frobenius)", OKABE_ITO["green"], "^", "-"),
    "golowich2018_frobenius_simplified": ("Golowich et al. 2018, bounded-input form",
                                          OKABE_ITO["green"], "v", ":"),
    "bartlett2017_spectral": ("Bartlett et al. 2017 (spectral)", OKABE_ITO["vermillion"], "s",
                              "-"),
    "ledent2021_weight_sharing": ("Ledent et al. 2021 (weight sharing)", OKABE_ITO["blue"], "o",
                                  "-"),
    "neyshabur2018_pacbayes": ("Neyshabur et al. 2018 (PAC-Bayes)", OKABE_ITO["purple"], "D",
                               "-"),
}

#: Real-data models (``conv4rec.benchmark`` names): label and colour.
MODELS = {
    "conv4rec": ("Conv4Rec", OKABE_ITO["blue"]),
    "conv4rec_user": ("Conv4Rec, user\n(defaults)", OKABE_ITO["sky_blue"]),
    "global_mean": ("global mean", OKABE_ITO["grey"]),
    "user_item_bias": ("user + item bias", OKABE_ITO["grey"]),
    "popularity": ("popularity", OKABE_ITO["grey"]),
    "biased_mf": ("biased MF", OKABE_ITO["orange"]),
    "i_autorec": ("I-AutoRec", OKABE_ITO["green"]),
    "srmgcnn": ("sRMGCNN", OKABE_ITO["purple"]),
    "ease": ("EASE", OKABE_ITO["vermillion"]),
    "mult_vae": ("Mult-VAE", OKABE_ITO["green"]),
}

#: Truths of the simulations: label and marker.
TRUTHS = {
    "separate": ("separate factors", "o"),
    "mixture": ("mixture of user types", "s"),
    "dirichlet": ("full-rank Dirichlet", "^"),
    "shared_levels": ("shared level patterns", "D"),
}

#: Axis labels with their units, shared by every figure.
LABELS = {
    "n_per_user": "interactions per user, n (draws)",
    "n_users": "number of users",
    "hidden": "code width d (units)",
    "tv": r"$\mathbb{E}_u\,\mathrm{TV}(P_u, \hat q_u)$ (mean over users)",
    "pinsker": r"Pinsker bound $\sqrt{\mathbb{E}_u \mathrm{KL}(P_u\|\hat q_u)/2}$",
    "gap": r"gap $R_\eta - \hat R_\eta$ (nats)",
    "epoch": "epoch",
}


def estimator_style(name: str) -> tuple[str, str, str]:
    """(label, colour, marker) of a simulation estimator; unknown names get grey."""
    return ESTIMATORS.get(name, (name, OKABE_ITO["grey"], "x"))


def bound_style(name: str) -> tuple[str, str, str, str]:
    """(label, colour, marker, line style) of a registered bound."""
    return BOUNDS.get(name, (name, OKABE_ITO["grey"], "x", "--"))


def model_style(name: str) -> tuple[str, str]:
    """(label, colour) of a real-data model."""
    return MODELS.get(name, (name, OKABE_ITO["grey"]))


def truth_style(name: str) -> tuple[str, str]:
    """(label, marker) of a simulation truth."""
    return TRUTHS.get(name, (name, "x"))


# ------------------------------------------------------------------------------ figures
@contextmanager
def rc_context():
    """The style's rcParams for the duration of a figure build."""
    with mpl.rc_context(RC_PARAMS):
        yield


def new_figure(width: float, height: float, *, caption_lines: int = 0) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout and an Agg canvas.

    ``caption_lines`` reserves room at the bottom for :func:`add_caption`; the axes are laid
    out above it, so the caption never overlaps a tick label.
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    if caption_lines:
        bottom = (caption_lines * CAPTION_LINE + 0.06) / height
        fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom), h_pad=0.04,
                                    w_pad=0.04)
    return fig


def wrap_caption(text: str, width_inches: float) -> list[str]:
    """The caption text broken into lines that fit ``width_inches`` at the caption font."""
    chars = max(40, int(width_inches * 17.5))  # ~17.5 characters per inch at 7 pt
    return textwrap.wrap(text, chars)


def add_caption(fig: Figure, lines: Sequence[str]) -> None:
    """Write the caption (sample sizes, what the bands are) under the axes."""
    height = fig.get_figheight()
    for k, line in enumerate(lines):
        y = (len(lines) - k - 0.35) * CAPTION_LINE / height
        fig.text(0.01, y, line, fontsize=7, color="#333333", ha="left", va="center")


def caption(fig: Figure, text: str) -> None:
    """Wrap and add a caption whose room was reserved by ``new_figure(caption_lines=...)``."""
    add_caption(fig, wrap_caption(text, fig.get_figwidth()))


def caption_lines(text: str, width_inches: float) -> int:
    return len(wrap_caption(text, width_inches))


def log_ticks(ax, axis: str, lo: float, hi: float) -> None:
    """Readable ticks on a log axis spanning less than ~2 decades: 1-2-3-5 steps, plain
    numbers, no minor labels (the default minor labels of a short log axis collide)."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    decades = np.arange(np.floor(np.log10(lo)) - 1, np.ceil(np.log10(hi)) + 1)
    ticks = np.array([])
    for steps in ((1, 1.5, 2, 3, 4, 5, 6, 8), (1, 2, 3, 5), (1, 2, 5), (1, 3), (1,)):
        cands = np.sort((np.array(steps, float)[None, :] * 10.0 ** decades[:, None]).ravel())
        ticks = cands[(cands >= lo * 0.999) & (cands <= hi * 1.001)]
        if len(ticks) <= 7:
            break
    if len(ticks) > 7:  # many decades: every other one
        ticks = ticks[::2]
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(lambda v, _: f"{v:g}")
    target.set_minor_formatter(NullFormatter())


def panel_label(ax, letter: str) -> None:
    """A bold panel letter (a, b, ...) at the top left, outside the axes."""
    ax.set_title(f"({letter})", loc="left", fontweight="bold", fontsize=9)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def savefig(fig: Figure, name: str, out: str | os.PathLike, formats: Iterable[str] = ("png",),
            *, dpi: int = DPI) -> list[Path]:
    """Write ``fig`` as ``out/name.<format>`` for each format, each file atomically.

    The file is drawn into a temporary file in ``out`` and moved into place with
    ``os.replace``, so a reader never sees a half-written figure.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        fmt = fmt.strip().lower().lstrip(".")
        path = out / f"{name}.{fmt}"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".{fmt}", dir=out)
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make figures private
            with os.fdopen(fd, "wb") as fh:
                fig.savefig(fh, format=fmt, dpi=dpi,
                            metadata={"Software": None} if fmt == "png" else None)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(path)
    return paths
