"""Generalization bounds G_n(δ) of a run's checkpoint, from the ``bounds`` package.

``bounds`` reads checkpoints only, so the certificate of a run (SPEC §6) is computed from the
run's checkpoint file. This module is the one place that talks to ``bounds``: it calls
``bounds.CheckpointStats.from_checkpoint(path)`` and ``bounds.compute_bounds(stats,
delta=δ)``, whose results carry ``value`` (the bound on R_η − R̂_η, NaN when the bound does not
apply to the architecture), ``log10_value``, ``applicable`` and ``reason``. When ``bounds`` is
not importable or lacks that API, :func:`generalization_bounds` says so in a note and the
certificate is left out (never filled with a made-up bound).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

logger = logging.getLogger(__name__)


def bounds_available() -> tuple[bool, str]:
    """Whether the bounds package can be used, and a note saying why not when it cannot."""
    try:
        import bounds
    except ImportError as exc:
        return False, f"the bounds package is not importable ({exc}); certificate left out"
    missing = [name for name in ("CheckpointStats", "compute_bounds", "REGISTRY")
               if not hasattr(bounds, name)]
    if missing:
        return False, (f"the bounds package lacks {', '.join(missing)}; certificate left out")
    return True, ""


def generalization_bounds(checkpoint: str | Path, *, delta: float
                          ) -> tuple[dict[str, dict] | None, list[str]]:
    """Every registered bound of the checkpoint.

    Returns
    -------
    bounds : dict name -> {"value": G_n(δ) or None when not finite, "log10_value"}, or None
        when the package cannot be used; bounds that do not apply are left out.
    notes : why the package or a bound was left out.
    """
    ok, note = bounds_available()
    if not ok:
        return None, [note]
    import bounds

    stats = bounds.CheckpointStats.from_checkpoint(checkpoint)
    out: dict[str, dict] = {}
    notes: list[str] = []
    for result in bounds.compute_bounds(stats, delta=delta):
        value, log10 = float(result.value), float(result.log10_value)
        if not getattr(result, "applicable", True) or math.isnan(log10):
            notes.append(f"{result.name} not applicable: {getattr(result, 'reason', '')}")
            continue
        out[result.name] = {"value": value if math.isfinite(value) else None,
                            "log10_value": log10}
    for n in notes:
        logger.info("%s", n)
    return out, notes
