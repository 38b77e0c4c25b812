"""Every figure script, by name, in the order ``all`` builds them.

A figure script is a module of :mod:`paper_figures.figures` exposing ``NAME``, ``DESCRIPTION``,
``REQUIRES`` (the cache sources it reads, each with the command that produces it), ``FIGSIZE``
(inches) and ``build(cache_root, out_dir, formats, *, size, dpi) -> list[Path]``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

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
