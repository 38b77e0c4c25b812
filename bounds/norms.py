"""Float64 matrix norms for the bounds (docs/bounds.md §7).

Conventions (BFT 2017 write the network as x -> A_L ... A_1 x, each A_i of shape (out, in)):

* ``spectral_norm(A)``: the largest singular value ‖A‖_σ.
* ``frobenius_norm(A)``: ‖A‖_F.
* ``l21_norm(A)``: Σ_rows ‖A[j, :]‖₂, the sum over output units of the ℓ2 norm of their incoming
  weights. This is what Bartlett, Foster and Telgarsky (2017) write ‖Aᵀ‖_{2,1}.

The spectral norm is exact (a dense symmetric eigensolver on the smaller Gram matrix, LAPACK)
when the smaller side has at most ``EXACT_MAX_DIM`` entries and the Gram product costs at most
``EXACT_MAX_WORK`` multiply-adds. Otherwise it is computed by Lanczos iteration (ARPACK) to
relative tolerance ``LANCZOS_RTOL`` and raised by the residual norm of the Ritz pair, which
bounds the distance of the Ritz value to the eigenvalue it approximates; when the smaller side
is at most ``EXACT_MAX_DIM`` and Lanczos has not converged within ``LANCZOS_QUICK_CYCLES``
restart cycles, the exact route takes over.
The structured matrices of the network (a 1x1 convolution unrolled over m items, with or without
a bias column) have exact formulas that never build the large matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

#: Largest smaller-side dimension for which the spectral norm is computed by a dense eigensolver.
EXACT_MAX_DIM = 2000
#: Largest Gram-matrix cost (p·q·min(p, q) multiply-adds) of the exact route; beyond it Lanczos
#: is both faster and, with the residual correction, as safe.
EXACT_MAX_WORK = 4e9
#: Relative tolerance of the Lanczos iteration.
LANCZOS_RTOL = 1e-12
#: Restart cycles (about 20 products each) Lanczos may spend on a matrix whose smaller side is
#: at most ``EXACT_MAX_DIM`` before the exact route takes over (slow convergence means a
#: crowded top of the spectrum, where the dense eigensolver is the safer tool anyway).
LANCZOS_QUICK_CYCLES = 2


def as_float64_matrix(a) -> np.ndarray:
    """``a`` (ndarray or torch tensor) as a 2-D float64 ndarray."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().double().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"expected a matrix, got an array of shape {a.shape}")
    return a


def frobenius_norm(a) -> float:
    """‖A‖_F in float64 (docs/bounds.md §7)."""
    a = as_float64_matrix(a)
    return float(np.sqrt(np.einsum("ij,ij->", a, a)))


def l21_norm(a) -> float:
    """Σ_j ‖A[j, :]‖₂ (BFT 2017's ‖Aᵀ‖_{2,1}: one term per output unit), in float64
    (docs/bounds.md §7)."""
    a = as_float64_matrix(a)
    return float(np.sqrt(np.einsum("ij,ij->i", a, a)).sum())


def gram(a) -> np.ndarray:
    """The smaller Gram matrix, A Aᵀ or Aᵀ A, in float64."""
    a = as_float64_matrix(a)
    return a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a


def spectral_norm_from_gram(g: np.ndarray) -> float:
    """sqrt of the largest eigenvalue of a symmetric positive semi-definite Gram matrix."""
    if g.size == 0:
        return 0.0
    lam = float(np.linalg.eigvalsh(g)[-1])
    return math.sqrt(max(lam, 0.0))


def lanczos_spectral_norm(a, *, rtol: float = LANCZOS_RTOL, seed: int = 0) -> float:
    """‖A‖_σ by Lanczos iteration on AᵀA (or AAᵀ), raised by the Ritz residual
    (docs/bounds.md §7).

    With the Ritz pair (λ, v), ‖v‖ = 1, r = AᵀA v − λ v, some eigenvalue lies in
    [λ − ‖r‖, λ + ‖r‖]; we return sqrt(λ + ‖r‖). ARPACK with ``which="LA"`` converges to the
    largest eigenvalue from a generic start vector; the start vector is drawn from ``seed``.
    """
    a = as_float64_matrix(a)
    return lanczos_operator_norm(lambda x: a @ x, lambda y: a.T @ y, a.shape, rtol=rtol,
                                 seed=seed)


def lanczos_operator_norm(matvec, rmatvec, shape: tuple[int, int], *,
                          rtol: float = LANCZOS_RTOL, seed: int = 0,
                          max_cycles: int | None = None) -> float | None:
    """:func:`lanczos_spectral_norm` of the operator x -> ``matvec(x)`` (adjoint ``rmatvec``)
    of shape ``shape``, never built as a matrix.

    With ``max_cycles``, gives up (returns None) when ARPACK has not converged within that many
    restart cycles (about 20 products each).
    """
    small = min(shape)
    if small == 0:
        return 0.0
    if small <= 2:  # ARPACK needs more dimensions than wanted eigenvalues; build the matrix
        cols = np.stack([matvec(e) for e in np.eye(shape[1])], axis=1)
        return spectral_norm_from_gram(gram(cols))
    if shape[0] <= shape[1]:
        op = LinearOperator((small, small), matvec=lambda x: matvec(rmatvec(x)),
                            dtype=np.float64)
    else:
        op = LinearOperator((small, small), matvec=lambda x: rmatvec(matvec(x)),
                            dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(small)
    try:
        vals, vecs = eigsh(op, k=1, which="LA", tol=rtol, v0=v0,
                           maxiter=max_cycles if max_cycles else 100 * small)
    except ArpackNoConvergence:
        if max_cycles:
            return None
        raise
    lam, v = float(vals[0]), vecs[:, 0] / np.linalg.norm(vecs[:, 0])
    resid = float(np.linalg.norm(op.matvec(v) - lam * v))
    return math.sqrt(max(lam + resid, 0.0))


def use_exact(shape: tuple[int, int], *, exact_max_dim: int | None = None,
              exact_max_work: float | None = None) -> bool:
    """Whether :func:`spectral_norm` goes straight to the exact (dense Gram) route
    (defaults: the module's ``EXACT_MAX_DIM`` and ``EXACT_MAX_WORK`` at call time)."""
    exact_max_dim = EXACT_MAX_DIM if exact_max_dim is None else exact_max_dim
    exact_max_work = EXACT_MAX_WORK if exact_max_work is None else exact_max_work
    small = min(shape)
    return small <= exact_max_dim and float(shape[0]) * shape[1] * small <= exact_max_work


def operator_spectral_norm(matvec, rmatvec, shape: tuple[int, int], dense, *,
                           exact_max_dim: int | None = None,
                           exact_max_work: float | None = None,
                           rtol: float = LANCZOS_RTOL) -> tuple[float, np.ndarray | None]:
    """‖M‖_σ of an operator, and the smaller Gram matrix when the exact route built one.

    The route (docs/bounds.md §7): exact when :func:`use_exact`; otherwise Lanczos, which, when
    the smaller side is at most ``EXACT_MAX_DIM``, may spend ``LANCZOS_QUICK_CYCLES`` restart
    cycles before the exact route (``dense()`` builds the matrix) takes over; beyond
    ``EXACT_MAX_DIM`` Lanczos runs to convergence.
    """
    exact_max_dim = EXACT_MAX_DIM if exact_max_dim is None else exact_max_dim
    if use_exact(shape, exact_max_dim=exact_max_dim, exact_max_work=exact_max_work):
        g = gram(dense())
        return spectral_norm_from_gram(g), g
    quick = LANCZOS_QUICK_CYCLES if min(shape) <= exact_max_dim else None
    value = lanczos_operator_norm(matvec, rmatvec, shape, rtol=rtol, max_cycles=quick)
    if value is None:
        g = gram(dense())
        return spectral_norm_from_gram(g), g
    return value, None


def spectral_norm(a, *, exact_max_dim: int | None = None, exact_max_work: float | None = None,
                  rtol: float = LANCZOS_RTOL) -> float:
    """‖A‖_σ in float64: exact for small matrices, else Lanczos (see
    :func:`operator_spectral_norm`; docs/bounds.md §7).

    Parameters
    ----------
    a : array-like, shape (p, q)
    exact_max_dim : int, optional
        Largest smaller side for the exact route (default ``EXACT_MAX_DIM``).
    exact_max_work : float, optional
        Largest p·q·min(p, q) that goes straight to the exact route (default
        ``EXACT_MAX_WORK``).
    rtol : float
        Relative tolerance of the Lanczos iteration (see :func:`lanczos_spectral_norm`).
    """
    a = as_float64_matrix(a)
    return operator_spectral_norm(lambda x: a @ x, lambda y: a.T @ y, a.shape, lambda: a,
                                  exact_max_dim=exact_max_dim, exact_max_work=exact_max_work,
                                  rtol=rtol)[0]


def norms_and_gram(a) -> tuple[MatrixNorms, np.ndarray | None]:
    """:func:`matrix_norms` of ``a`` and, when the exact route computed it, the smaller Gram
    matrix (so that the norm of a matrix bordered by a few rows or columns costs no second
    product)."""
    a = as_float64_matrix(a)
    spectral, g = operator_spectral_norm(lambda x: a @ x, lambda y: a.T @ y, a.shape, lambda: a)
    return MatrixNorms(spectral=spectral, frobenius=frobenius_norm(a), l21=l21_norm(a)), g


def power_iteration_spectral_norm(a, *, n_iter: int = 500, seed: int = 0) -> float:
    """‖A‖_σ by plain power iteration (a lower estimate; used to cross-check in tests)."""
    a = as_float64_matrix(a)
    v = np.random.default_rng(seed).standard_normal(a.shape[1])
    v /= np.linalg.norm(v)
    sigma = 0.0
    for _ in range(n_iter):
        w = a.T @ (a @ v)
        norm = np.linalg.norm(w)
        if norm == 0:
            return 0.0
        v = w / norm
        sigma = math.sqrt(norm)
    return float(np.linalg.norm(a @ v)) if sigma else 0.0


def conv_bias_spectral_norm(filt, bias) -> float:
    """Exact ‖[I_m ⊗ A | vec(V)]‖_σ: a 1x1 convolution over m positions plus a bias column
    (docs/bounds.md §3.2 step 2, §7).

    The matrix maps (vec G, 1) to (A G[:, i] + V[i])_i; it is never built. With
    A Aᵀ = U diag(d) Uᵀ and W = V U, M Mᵀ is unitarily similar to
    I_m ⊗ diag(d) + vec(W) vec(W)ᵀ, whose largest eigenvalue is max(max d, λ*) where λ* is the
    root above max{d_j : w_j > 0} of the secular equation Σ_j w_j / (λ − d_j) = 1,
    w_j = Σ_i W[i, j]². We bisect to machine precision and return the upper end of the bracket.

    Parameters
    ----------
    filt : array-like, shape (c_out, c_in)
        The shared filter A.
    bias : array-like, shape (m, c_out)
        V: the bias of output channel c at position i.
    """
    filt = as_float64_matrix(filt)
    bias = as_float64_matrix(bias)
    if bias.shape[1] != filt.shape[0]:
        raise ValueError(f"bias shape {bias.shape} does not match filter shape {filt.shape}")
    d, u = np.linalg.eigh(filt @ filt.T)
    d = np.maximum(d, 0.0)
    w = ((bias @ u) ** 2).sum(axis=0)
    top = float(d.max()) if d.size else 0.0
    live = w > 0
    if not live.any():
        return math.sqrt(top)
    lo = float(d[live].max())
    hi = lo + float(w.sum())  # g(hi) <= Σw / (hi − lo) = 1

    def g(lam: float) -> float:
        return float(np.sum(w[live] / (lam - d[live]))) - 1.0

    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if g(mid) > 0:
            lo = mid
        else:
            hi = mid
    return math.sqrt(max(hi, top))


@dataclass(frozen=True)
class MatrixNorms:
    """Spectral, Frobenius and (2,1) norms of one matrix (float64)."""

    spectral: float
    frobenius: float
    l21: float

    def to_dict(self) -> dict[str, float]:
        return {"spectral": self.spectral, "frobenius": self.frobenius, "l21": self.l21}


def matrix_norms(a) -> MatrixNorms:
    """The three norms of ``a`` (float64); see the module docstring for the conventions."""
    return norms_and_gram(a)[0]
