"""The result of one bound and the report of a checkpoint (docs/bounds.md §6)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class BoundResult:
    """One bound evaluated on one checkpoint.

    Attributes
    ----------
    name : registry name, e.g. ``"bartlett2017_spectral"``.
    value : the bound on the generalization gap E ℓ_η − Ê ℓ_η (NaN when not applicable,
        ``inf`` when it overflows float64; ``log10_value`` is then still exact).
    log10_value : log10 of ``value``, computed in log space.
    terms : named terms of the formula (floats; products as ``log10_*``).
    reference : the published result it instantiates.
    assumptions : what the value relies on beyond the checkpoint.
    applicable : False when the architecture violates an assumption of the result.
    reason : why it is not applicable.
    section : the section of ``docs/bounds.md`` that derives it.
    main_terms : the keys of ``terms`` the CLI table shows.
    """

    name: str
    value: float
    log10_value: float
    terms: Mapping[str, float] = field(default_factory=dict)
    reference: str = ""
    assumptions: tuple[str, ...] = ()
    applicable: bool = True
    reason: str = ""
    section: str = ""
    main_terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", MappingProxyType(dict(self.terms)))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "main_terms", tuple(self.main_terms))

    @classmethod
    def not_applicable(cls, name: str, reason: str, *, reference: str = "",
                       section: str = "") -> BoundResult:
        """A result that says why the bound does not apply (no number is given)."""
        return cls(name=name, value=math.nan, log10_value=math.nan, reference=reference,
                   applicable=False, reason=reason, section=section)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: non-finite numbers become ``None``."""
        return {
            "name": self.name, "value": _json_float(self.value),
            "log10_value": _json_float(self.log10_value),
            "terms": {k: (_json_float(v) if isinstance(v, float) else v)
                      for k, v in self.terms.items()},
            "reference": self.reference, "applicable": self.applicable,
            "reason": self.reason or None, "assumptions": list(self.assumptions),
            "section": self.section,
        }


@dataclass(frozen=True)
class Report:
    """All bounds of one checkpoint next to its measured risks.

    Attributes
    ----------
    checkpoint : where it came from.
    delta : the confidence parameter: each bound holds with probability >= 1 − δ.
    n, m, n_levels, eta, loss_range : the sample size, items, levels, mixing and B.
    bounds : the evaluated bounds, in registry order.
    risk : ``{"eta", "train", "test"}`` of the checkpoint, when recorded.
    assumptions : shared by every bound (from :class:`bounds.stats.CheckpointStats`).
    """

    checkpoint: str
    delta: float
    n: int
    m: int
    n_levels: int
    eta: float
    loss_range: float
    bounds: tuple[BoundResult, ...]
    risk: Mapping[str, float] | None = None
    assumptions: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        """The measured gap, test − train risk under ℓ_η, when both are recorded."""
        if not self.risk or "train" not in self.risk or "test" not in self.risk:
            return None
        return float(self.risk["test"]) - float(self.risk["train"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint, "delta": self.delta, "n": self.n, "m": self.m,
            "n_levels": self.n_levels, "eta": self.eta,
            "loss_range": _json_float(self.loss_range),
            "train": None if not self.risk else self.risk.get("train"),
            "test": None if not self.risk else self.risk.get("test"),
            "gap": self.gap, "bounds": [b.to_dict() for b in self.bounds],
            "assumptions": list(self.assumptions),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def format_table(self) -> str:
        """The human-readable table printed by ``python -m bounds``."""
        setting = (f"setting     n = {self.n} rows, m = {self.m} columns, C = {self.n_levels} "
                   f"levels, eta = {self.eta:g}, loss range B = log(C m / eta) = "
                   f"{self.loss_range:.4g}, delta = {self.delta:g}")
        lines = [f"checkpoint  {self.checkpoint}", setting]
        if self.risk and "train" in self.risk and "test" in self.risk:
            lines.append(f"measured    train {self.risk['train']:.6g}   test "
                         f"{self.risk['test']:.6g}   gap {self.gap:.6g}   (mean per-row "
                         "l_eta)")
        else:
            lines.append("measured    no train/test risk in the checkpoint metadata")
        width = max(len(b.name) for b in self.bounds) if self.bounds else 10
        lines.append("")
        lines.append(f"{'bound':<{width}}  {'value':>11}  {'log10':>8}  main terms")
        for b in self.bounds:
            if not b.applicable:
                lines.append(f"{b.name:<{width}}  {'n/a':>11}  {'':>8}  {b.reason}")
                continue
            value = f"{b.value:.4g}" if math.isfinite(b.value) else "overflow"
            terms = ", ".join(f"{k} = {b.terms[k]:.4g}" for k in b.main_terms
                              if k in b.terms)
            lines.append(f"{b.name:<{width}}  {value:>11}  {b.log10_value:>8.3f}  {terms}")
        if self.gap is not None:
            lines.append("")
            lines.append("every applicable bound is an upper bound, holding with probability "
                         f">= {1 - self.delta:g}, on the population gap that the measured gap "
                         f"{self.gap:.4g} estimates")
        return "\n".join(lines)
