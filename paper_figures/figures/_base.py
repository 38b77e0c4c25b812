"""What every figure script shares: check the caches, draw in the style, save atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy import stats

from paper_figures import sources, style


def render(name: str, requires: Sequence[sources.Source], cache_root: str | os.PathLike,
           out_dir: str | os.PathLike, formats: Iterable[str], *, size: str, dpi: int,
           docs_dir: str | os.PathLike | None,
           draw: Callable[[Path, str], style.Figure]) -> list[Path]:
    """Check that every required cache is there, then ``draw(root, size)`` and save the figure
    as ``out_dir/name.<format>`` (and a small PNG ``docs_dir/name.png`` when given)."""
    root = Path(cache_root)
    sources.check(name, requires, root, size)
    with style.rc_context():
        fig = draw(root, size)
        paths = style.savefig(fig, name, out_dir, formats, dpi=dpi)
        if docs_dir is not None:
            paths += style.savefig(fig, name, docs_dir, ("png",), dpi=style.DOCS_DPI)
    return paths


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two-sided ``level`` t-interval of the mean (the mean twice for one value)."""
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return mean, mean - half, mean + half


def seeds_text(seeds: Sequence[int]) -> str:
    """'1 seed' / '3 seeds' for captions."""
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''}"


def truth_text(result: dict) -> str:
    """'200 users x 100 items x 5 levels' of a simulation result."""
    t = result["truth"]
    return f"{t['n_users']} users \u00d7 {t['n_items']} items \u00d7 {t['n_levels']} levels"
