"""The steps every bound shares (docs/bounds.md §1.2, §1.5): loss constants, the Rademacher
generalization bound, and the union bound over a grid of norm radii.

Everything is float64 and products are sums of logarithms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def loss_constants(*, n_cells: int, eta: float, scale: float = 1.0) -> tuple[float, float]:
    """(B, L) of the loss scale·ℓ_η over ``n_cells`` = C·m logits (docs §1.2).

    B = scale·log(C m / η) is its range, L = scale·√2 its Lipschitz constant (ℓ2, logits).
    """
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta={eta!r}: expected 0 < eta < 1")
    if n_cells < 1 or scale <= 0:
        raise ValueError(f"n_cells={n_cells!r}, scale={scale!r}: expected >= 1 and > 0")
    return scale * math.log(n_cells / eta), scale * math.sqrt(2.0)


@dataclass(frozen=True)
class RadiusGrid:
    """The radii r_k = r_min · ratio^k, k = 0, 1, 2, ..., with prior weights 1/((k+1)(k+2)).

    The weights sum to one over k, so giving class k the confidence δ·Π_j w(k_j) spends exactly
    δ over all classes (docs §1.5). A norm x is covered by the smallest radius >= x; the price is
    log((k+1)(k+2)) added to log(2/δ). Both the radius and the price are non-decreasing in x.
    """

    r_min: float = 2.0 ** -20
    ratio: float = 2.0 ** 0.125

    def __post_init__(self) -> None:
        if not (self.r_min > 0 and self.ratio > 1):
            raise ValueError(f"RadiusGrid(r_min={self.r_min}, ratio={self.ratio}): expected "
                             "r_min > 0 and ratio > 1")

    def index(self, x: float) -> int:
        """The smallest k with r_k >= x."""
        if not x >= 0 or not math.isfinite(x):
            raise ValueError(f"norm {x!r}: expected a finite non-negative number")
        if x <= self.r_min:
            return 0
        k = max(0, math.ceil(math.log(x / self.r_min) / math.log(self.ratio) - 1e-12))
        while self.log_radius(k) < math.log(x):  # guard the rounding of the logarithms
            k += 1
        return k

    def log_radius(self, k: int) -> float:
        return math.log(self.r_min) + k * math.log(self.ratio)

    @staticmethod
    def log_price(k: int) -> float:
        """log(1 / w(k)) = log((k+1)(k+2))."""
        return math.log((k + 1.0) * (k + 2.0))


#: The grid every registered bound uses.
DEFAULT_GRID = RadiusGrid()


def covering_radii(norms: Sequence[float], grid: RadiusGrid | None) -> tuple[np.ndarray, float]:
    """Log radii covering ``norms`` and the total log price of the union bound.

    With ``grid=None`` the radii are the norms themselves and the price is 0: the bound then
    holds only for radii fixed before seeing the data (used to test the formulas).
    """
    norms = [float(x) for x in norms]
    if grid is None:
        if any(not (x >= 0 and math.isfinite(x)) for x in norms):
            raise ValueError(f"norms {norms}: expected finite non-negative numbers")
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(norms, dtype=np.float64)), 0.0
    ks = [grid.index(x) for x in norms]
    return (np.array([grid.log_radius(k) for k in ks], dtype=np.float64),
            float(sum(grid.log_price(k) for k in ks)))


def confidence_term(*, loss_range: float, n: int, delta: float, log_price: float = 0.0) -> float:
    """3 B sqrt((log(2/δ) + log_price) / (2n)) (docs §1.2, §1.5)."""
    check_n_delta(n, delta)
    return 3.0 * loss_range * math.sqrt((math.log(2.0 / delta) + log_price) / (2.0 * n))


def check_n_delta(n: int, delta: float) -> None:
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n={n!r}: expected an integer >= 1")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta={delta!r}: expected 0 < delta < 1")


def log_sum_exp(logs: Sequence[float]) -> float:
    """log Σ exp(x) over finite or -inf entries (-inf when all are -inf)."""
    arr = np.asarray(list(logs), dtype=np.float64)
    if arr.size == 0 or np.all(arr == -np.inf):
        return -math.inf
    top = float(arr.max())
    return top + math.log(float(np.exp(arr - top).sum()))


def combine(log_complexity: float, confidence: float) -> tuple[float, float]:
    """(value, log10 value) of exp(log_complexity) + confidence, without overflow."""
    log_total = log_sum_exp([log_complexity, math.log(confidence) if confidence > 0
                             else -math.inf])
    value = math.exp(log_total) if log_total < 709.0 else math.inf
    return value, log_total / math.log(10.0)
