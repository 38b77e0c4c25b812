"""Frobenius-norm bound of Golowich, Rakhlin and Shamir (COLT 2018, Theorem 1), instantiated for
Conv4Rec through the Rademacher chain and Maurer's vector contraction (docs/bounds.md §2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bounds.chain import (
    DEFAULT_GRID,
    RadiusGrid,
    check_n_delta,
    combine,
    confidence_term,
    covering_radii,
)
from bounds.report import BoundResult

REFERENCE = ("N. Golowich, A. Rakhlin, O. Shamir. Size-independent sample complexity of neural "
             "networks. COLT 2018, Theorem 1; with A. Maurer, A vector-contraction inequality "
             "for Rademacher complexities, ALT 2016, Corollary 1")
SECTION = "docs/bounds.md §2"


def golowich2018_log_rademacher(*, log_radii: Sequence[float], input_sq_sum: float,
                                n: int) -> float:
    """log of Golowich et al.'s bound on the empirical Rademacher complexity (docs §2.1).

    R̂_n(H_d) <= (1/n) · (√(2 log(2) · d) + 1) · Π_j M_F(j) · sqrt(Σ_u ‖x_u‖²)

    for real-valued depth-d networks x -> W_d σ(W_{d-1} σ(... σ(W_1 x))) with ‖W_j‖_F <= M_F(j)
    and 1-Lipschitz, positive-homogeneous, element-wise σ.

    Parameters
    ----------
    log_radii : log M_F(j), j = 1..d.
    input_sq_sum : Σ_u ‖x_u‖² over the n samples (or an upper bound on it).
    n : sample size.
    """
    depth = len(log_radii)
    if depth < 1:
        raise ValueError("expected at least one layer")
    if input_sq_sum < 0:
        raise ValueError(f"input_sq_sum={input_sq_sum!r}: expected >= 0")
    log_input = 0.5 * math.log(input_sq_sum) if input_sq_sum > 0 else -math.inf
    return (-math.log(n) + math.log(math.sqrt(2.0 * math.log(2.0) * depth) + 1.0)
            + float(sum(log_radii)) + log_input)


def golowich2018_frobenius(*, frobenius: Sequence[float], input_sq_sum: float, n: int,
                           n_outputs: int, loss_range: float, loss_lipschitz: float,
                           delta: float, grid: RadiusGrid | None = DEFAULT_GRID,
                           name: str = "golowich2018_frobenius") -> BoundResult:
    """Bound on the gap E ℓ − Ê ℓ from Golowich et al.'s Theorem 1 (docs/bounds.md §2).

    With probability >= 1 − δ, for the trained network,

        gap <= 2 · √2 L · K · R̂_1 + 3 B sqrt((log(2/δ) + Σ_j log((k_j+1)(k_j+2))) / (2n)),

        R̂_1 = (1/n) (√(2 log(2) d) + 1) Π_j r_j sqrt(Σ_u ‖x̂_u‖²),

    where r_j = grid radius k_j covering the trained ‖W_j‖_F (docs §1.5), K = C·m outputs
    (Maurer's vector contraction then one scalar network per output), L the Lipschitz constant
    and B the range of the loss.

    Parameters
    ----------
    frobenius : Frobenius norms of the d matrices of one output's network (docs §1.3).
    input_sq_sum : Σ_u ‖x̂_u‖² (or an upper bound).
    n : number of samples (rows).
    n_outputs : K = C·m.
    loss_range, loss_lipschitz : B and L of the loss (docs §1.2).
    delta : confidence.
    grid : the radius grid of the union bound; None uses the norms as fixed radii (no union
        bound, for testing the formula only).
    """
    check_n_delta(n, delta)
    log_radii, price = covering_radii(frobenius, grid)
    log_rad = golowich2018_log_rademacher(log_radii=log_radii, input_sq_sum=input_sq_sum, n=n)
    log_complexity = (math.log(2.0 * math.sqrt(2.0) * loss_lipschitz) + math.log(n_outputs)
                      + log_rad)
    confidence = confidence_term(loss_range=loss_range, n=n, delta=delta, log_price=price)
    value, log10_value = combine(log_complexity, confidence)
    depth = len(log_radii)
    ln10 = math.log(10.0)
    terms = {
        "complexity": math.exp(log_complexity) if log_complexity < 709 else math.inf,
        "log10_complexity": log_complexity / ln10,
        "confidence": confidence,
        "log10_rademacher_per_output": log_rad / ln10,
        "log10_prod_frobenius": float(sum(log_radii)) / ln10,
        "depth": float(depth),
        "depth_factor": math.sqrt(2.0 * math.log(2.0) * depth) + 1.0,
        "input_rms": math.sqrt(input_sq_sum / n),
        "n_outputs": float(n_outputs),
        "loss_range": loss_range,
        "loss_lipschitz": loss_lipschitz,
        "log_grid_price": price,
    }
    return BoundResult(name=name, value=value, log10_value=log10_value, terms=terms,
                       reference=REFERENCE, section=SECTION,
                       main_terms=("log10_complexity", "confidence", "log10_prod_frobenius",
                                   "depth_factor"))
