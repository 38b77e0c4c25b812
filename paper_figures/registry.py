"""Every figure script, by name, in the order ``all`` builds them.

A figure script is a module of :mod:`paper_figures.figures` exposing ``NAME``, ``DESCRIPTION``,
``REQUIRES`` (the cache sources it reads, each with the command that produces it), ``FIGSIZE``
(inches) and ``draw(cache_root, size) -> Figure``; :func:`build` checks the caches, draws and
saves any of them.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from paper_figures import style
from paper_figures.figures._base import render

#: Figure names in build order (each is ``paper_figures/figures/<name>.py``).
FIGURE_NAMES = (
    "tv_vs_n",
    "bounds_vs_gap",
    "training_norms",
    "rating_distributions",
    "hidden_gems",
    "pinsker",
    "real_data",
)


class UnknownFigureError(KeyError):
    """A figure name that is not registered."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_figure(name: str) -> ModuleType:
    """The figure script ``name``."""
    if name not in FIGURE_NAMES:
        raise UnknownFigureError(f"unknown figure {name!r}; known: {', '.join(FIGURE_NAMES)}")
    module = importlib.import_module(f"paper_figures.figures.{name}")
    assert module.NAME == name, (module.NAME, name)
    return module


def all_figures() -> list[ModuleType]:
    return [get_figure(name) for name in FIGURE_NAMES]


def build(figure: ModuleType, cache_root: str | os.PathLike, out_dir: str | os.PathLike,
          formats: Iterable[str] = ("png",), *, size: str = "small", dpi: int = style.DPI,
          docs_dir: str | os.PathLike | None = None) -> list[Path]:
    """Draw ``figure`` (a module from :func:`get_figure`) from the caches under ``cache_root``
    and save it; returns the written files."""
    return render(figure.NAME, figure.REQUIRES, cache_root, out_dir, formats, size=size,
                  dpi=dpi, docs_dir=docs_dir, draw=figure.draw)
