"""The TV certificate of SPEC §6 with the generalization bounds of the ``bounds`` package.

``bounds`` reads checkpoints only, so the certificate of a run is computed from the run's
checkpoint file. This module is the one place that talks to ``bounds``; when the package is not
importable, or exposes no registry yet, :func:`generalization_bounds` says so in a note and the
certificate columns are left out of the results (never filled with a made-up bound).

Protocol expected from ``bounds`` (the first one found is used):

1. ``bounds.evaluate_checkpoint(path, *, delta, eta) -> Mapping[str, result]``;
2. ``bounds.REGISTRY: Mapping[str, callable]`` with ``callable(path, *, delta, eta) -> result``;

where ``result`` has a ``value`` (attribute or key): G_n(δ), the bound on R_η − R̂_η in the
units of the bounded loss ℓ_η, holding with probability >= 1 − δ.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _value(result: Any) -> float:
    value = result.get("value") if isinstance(result, Mapping) else getattr(result, "value")
    return float(value)


def _import_bounds() -> tuple[Any | None, str]:
    try:
        import bounds  # noqa: PLC0415  (optional: another package, may not exist yet)
    except ImportError as exc:
        return None, f"the bounds package is not importable ({exc}); certificate left out"
    return bounds, ""


def bounds_available() -> tuple[bool, str]:
    """Whether a bound registry can be used, and a note saying why not when it cannot."""
    bounds, note = _import_bounds()
    if bounds is None:
        return False, note
    if callable(getattr(bounds, "evaluate_checkpoint", None)):
        return True, ""
    registry = getattr(bounds, "REGISTRY", None)
    if isinstance(registry, Mapping) and registry:
        return True, ""
    return False, ("the bounds package has neither evaluate_checkpoint nor a REGISTRY yet; "
                   "certificate left out")


def generalization_bounds(checkpoint: str | Path, *, delta: float,
                          eta: float) -> tuple[dict[str, float] | None, str]:
    """G_n(δ) of every registered bound for the checkpoint, or None and a note.

    A bound that raises is reported in the note and left out; the others are kept.
    """
    ok, note = bounds_available()
    if not ok:
        return None, note
    import bounds  # noqa: PLC0415

    out: dict[str, float] = {}
    errors: list[str] = []
    evaluate = getattr(bounds, "evaluate_checkpoint", None)
    if callable(evaluate):
        results = evaluate(str(checkpoint), delta=delta, eta=eta)
        items = list(results.items())
    else:
        items = []
        for name, fn in bounds.REGISTRY.items():
            try:
                items.append((name, fn(str(checkpoint), delta=delta, eta=eta)))
            except Exception as exc:  # a broken bound must not sink the sweep
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
    for name, result in items:
        try:
            value = _value(result)
        except Exception as exc:
            errors.append(f"{name}: no value ({type(exc).__name__})")
            continue
        if math.isnan(value):
            errors.append(f"{name}: NaN")
            continue
        out[str(name)] = value
    for err in errors:
        logger.warning("bound left out: %s", err)
    return out, "; ".join(errors)
