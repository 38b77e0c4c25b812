"""Spectral-norm covering bound of Bartlett, Foster and Telgarsky (NeurIPS 2017), with the 1x1
convolutions unrolled over the items (docs/bounds.md §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bounds.chain import (
    DEFAULT_GRID,
    RadiusGrid,
    check_n_delta,
    combine,
    confidence_term,
    covering_radii,
    log_sum_exp,
)
from bounds.report import BoundResult

REFERENCE = ("P. L. Bartlett, D. J. Foster, M. Telgarsky. Spectrally-normalized margin bounds "
             "for neural networks. NeurIPS 2017, Theorem 3.3 with Lemma 3.2 and Lemma A.5 "
             "(the Lemma A.8 choice of the Dudley cut-off)")
SECTION = "docs/bounds.md §3"


def dudley_log_rademacher(*, log_radius: float, log_width: float, n_layers: int,
                          n: int) -> float:
    """log of the Dudley bound on R̂_n of a [0,1]-valued class (docs/bounds.md §3.2, step 7).

    If ln N(G|_S, ε, ‖·‖₂) <= log_width · (R²/ε² + n_layers + 1) for all ε > 0, then with the
    cut-off α = 1/√n of BFT's Lemma A.8 in their Lemma A.5,

        R̂_n(G) <= 4/n + (12/n) sqrt(log_width) (R ln n + sqrt(n_layers + 1) (√n − 1/√n)).

    Parameters
    ----------
    log_radius : log R.
    log_width : the factor ln(2W) of the covering bound (>= ln 2).
    n_layers : number of layers whose covers carry a ceiling ⌈·⌉ (docs §3.2).
    n : sample size.
    """
    if log_width < math.log(2.0) - 1e-12:
        raise ValueError(f"log_width={log_width!r}: expected >= log 2")
    root_n = math.sqrt(n)
    base = math.log(12.0 / n) + 0.5 * math.log(log_width)
    terms = [math.log(4.0 / n)]
    if n > 1:
        terms.append(base + log_radius + math.log(math.log(n)))
        terms.append(base + 0.5 * math.log(n_layers + 1.0) + math.log(root_n - 1.0 / root_n))
    return log_sum_exp(terms)


def spectral_log_radius(*, log_spectral: Sequence[float], log_l21: Sequence[float],
                        lipschitz: Sequence[float], input_sq_sum: float,
                        loss_lipschitz: float, loss_range: float) -> float:
    """log R, R = (L/B) ‖X‖ Π_i ρ_i s_i (Σ_i (a_i/s_i)^{2/3})^{3/2} (docs/bounds.md §3.2,
    steps 4-5)."""
    log_s = np.asarray(log_spectral, dtype=np.float64)
    log_a = np.asarray(log_l21, dtype=np.float64)
    if log_s.shape != log_a.shape or len(lipschitz) != len(log_s):
        raise ValueError("spectral, l21 and lipschitz need one entry per layer")
    if any(r <= 0 for r in lipschitz):
        raise ValueError(f"lipschitz={list(lipschitz)}: expected positive constants")
    log_input = 0.5 * math.log(input_sq_sum) if input_sq_sum > 0 else -math.inf
    return (math.log(loss_lipschitz / loss_range) + log_input
            + float(np.log(np.asarray(lipschitz, dtype=np.float64)).sum()) + float(log_s.sum())
            + 1.5 * log_sum_exp((2.0 / 3.0) * (log_a - log_s)))


def covering_bound(*, name: str, reference: str, section: str, spectral: Sequence[float],
                   l21_distance: Sequence[float], lipschitz: Sequence[float], log_width: float,
                   input_sq_sum: float, n: int, loss_range: float, loss_lipschitz: float,
                   delta: float, grid: RadiusGrid | None) -> BoundResult:
    """The chain of docs §3 for given per-layer constants; shared by §3 and §4."""
    check_n_delta(n, delta)
    log_s, price_s = covering_radii(spectral, grid)
    log_a, price_a = covering_radii(l21_distance, grid)
    log_r = spectral_log_radius(log_spectral=log_s, log_l21=log_a, lipschitz=lipschitz,
                                input_sq_sum=input_sq_sum, loss_lipschitz=loss_lipschitz,
                                loss_range=loss_range)
    log_rad = dudley_log_rademacher(log_radius=log_r, log_width=log_width,
                                    n_layers=len(log_s), n=n)
    log_complexity = math.log(2.0 * loss_range) + log_rad
    confidence = confidence_term(loss_range=loss_range, n=n, delta=delta,
                                 log_price=price_s + price_a)
    value, log10_value = combine(log_complexity, confidence)
    ln10 = math.log(10.0)
    terms = {
        "complexity": math.exp(log_complexity) if log_complexity < 709 else math.inf,
        "log10_complexity": log_complexity / ln10,
        "confidence": confidence,
        "log10_radius": log_r / ln10,
        "log10_prod_spectral": float(log_s.sum()) / ln10,
        "log10_prod_lipschitz": float(np.log(np.asarray(lipschitz)).sum()) / ln10,
        "log10_l21_ratio_term": 1.5 * log_sum_exp((2.0 / 3.0) * (log_a - log_s)) / ln10,
        "log_width": log_width,
        "input_rms": math.sqrt(input_sq_sum / n),
        "n_layers": float(len(log_s)),
        "loss_range": loss_range,
        "loss_lipschitz": loss_lipschitz,
        "log_grid_price": price_s + price_a,
    }
    return BoundResult(name=name, value=value, log10_value=log10_value, terms=terms,
                       reference=reference, section=section,
                       main_terms=("log10_complexity", "confidence", "log10_prod_spectral",
                                   "log10_l21_ratio_term"))


def bartlett2017_spectral(*, spectral: Sequence[float], l21_distance: Sequence[float],
                          lipschitz: Sequence[float], max_dim: int, input_sq_sum: float,
                          n: int, loss_range: float, loss_lipschitz: float, delta: float,
                          grid: RadiusGrid | None = DEFAULT_GRID) -> BoundResult:
    """Bound on the gap E ℓ − Ê ℓ from BFT 2017's covering number (docs/bounds.md §3).

    With probability >= 1 − δ, for the trained network,

        gap <= 2B · [4/n + (12/n) sqrt(ln(2W²)) (R ln n + sqrt(L+1)(√n − 1/√n))]
               + 3B sqrt((log(2/δ) + price) / (2n)),

        R = (L_ℓ/B) sqrt(Σ_u ‖x̂_u‖²) Π_i ρ_i s_i (Σ_i (a_i/s_i)^{2/3})^{3/2},

    with s_i, a_i the grid radii covering the spectral norms ‖A_i‖_σ and the (2,1) distances
    ‖(A_i − A_i⁽⁰⁾)ᵀ‖_{2,1} of the L layer matrices unrolled over the items, ρ_i the Lipschitz
    constants of the maps between them, W the largest dimension of any of them, L_ℓ and B the
    Lipschitz constant and range of the loss, and price the union bound's log price (§1.5).

    Parameters
    ----------
    spectral, l21_distance, lipschitz : one entry per layer (docs §1.3).
    max_dim : W.
    input_sq_sum : Σ_u ‖x̂_u‖² (or an upper bound).
    n, delta : sample size, confidence.
    loss_range, loss_lipschitz : B and L_ℓ (docs §1.2).
    grid : radius grid of the union bound; None uses the norms as fixed radii (tests only).
    """
    if max_dim < 1:
        raise ValueError(f"max_dim={max_dim!r}: expected >= 1")
    return covering_bound(name="bartlett2017_spectral", reference=REFERENCE, section=SECTION,
                          spectral=spectral, l21_distance=l21_distance, lipschitz=lipschitz,
                          log_width=math.log(2.0 * float(max_dim) ** 2),
                          input_sq_sum=input_sq_sum, n=n, loss_range=loss_range,
                          loss_lipschitz=loss_lipschitz, delta=delta, grid=grid)
