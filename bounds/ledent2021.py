"""Weight-sharing covering bound in the manner of Ledent, Mustafa, Lei and Kloft (AAAI 2021):
the shared 1x1 filters are covered once, on the matrix of all their input patches, so the m
items enter only through logarithms and norms (docs/bounds.md §4)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bounds.bartlett2017 import covering_bound
from bounds.chain import DEFAULT_GRID, RadiusGrid
from bounds.report import BoundResult

REFERENCE = ("A. Ledent, W. Mustafa, Y. Lei, M. Kloft. Norm-based generalisation bounds for "
             "deep multi-class convolutional neural networks. AAAI 2021 (arXiv:1905.12430): "
             "each shared filter is covered once on all its patches; realised here inside "
             "Bartlett, Foster, Telgarsky NeurIPS 2017 Theorem 3.3 / Lemma 3.2 / Lemma A.5")
SECTION = "docs/bounds.md §4"


def ledent2021_weight_sharing(*, spectral: Sequence[float], l21_distance: Sequence[float],
                              lipschitz: Sequence[float], cover_dims: Sequence[int],
                              input_sq_sum: float, n: int, loss_range: float,
                              loss_lipschitz: float, delta: float,
                              grid: RadiusGrid | None = DEFAULT_GRID) -> BoundResult:
    """Bound on the gap E ℓ − Ê ℓ with the shared filters counted once (docs/bounds.md §4).

    The formula of :func:`bounds.bartlett2017.bartlett2017_spectral` with two changes:

    * a_i is the (2,1) distance of the *shared* parameter matrix of layer i, covered on the
      matrix of its input patches (docs §4.2) instead of the unrolled matrix, so a 1x1
      convolution's filter is counted once instead of m times;
    * ln(2W²) becomes ln(2 max_i D_i), D_i the size of the parameter matrix layer i's cover is
      over (K_in·C for the input convolution instead of (m K_in + 2)(m C + 2)).

    Parameters
    ----------
    spectral, lipschitz : as for Bartlett et al. (the Lipschitz constant of a convolution does
        not change with sharing).
    l21_distance : shared (2,1) distances a_i (docs §4.2).
    cover_dims : D_i.
    input_sq_sum, n, loss_range, loss_lipschitz, delta, grid : as for Bartlett et al.
    """
    if not cover_dims or min(cover_dims) < 1:
        raise ValueError(f"cover_dims={list(cover_dims)}: expected positive sizes")
    return covering_bound(name="ledent2021_weight_sharing", reference=REFERENCE,
                          section=SECTION, spectral=spectral, l21_distance=l21_distance,
                          lipschitz=lipschitz, log_width=math.log(2.0 * max(cover_dims)),
                          input_sq_sum=input_sq_sum, n=n, loss_range=loss_range,
                          loss_lipschitz=loss_lipschitz, delta=delta, grid=grid)
