"""Each norm computed three ways: numpy, torch.linalg, and explicit definitions / iterations."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds.norms import (
    conv_bias_spectral_norm,
    frobenius_norm,
    l21_norm,
    lanczos_spectral_norm,
    matrix_norms,
    norms_and_gram,
    power_iteration_spectral_norm,
    spectral_norm,
)


@st.composite
def matrices(draw, max_dim: int = 12):
    rows, cols = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal((rows, cols)) * scale
    if draw(st.booleans()):  # a low-rank matrix: close singular values are the hard case
        a = np.outer(a[:, 0], rng.standard_normal(cols)) + 1e-6 * scale * a
    return a


@settings(deadline=None)
@given(matrices())
def test_spectral_norm_three_ways(a):
    ours = spectral_norm(a)
    svd = np.linalg.svd(a, compute_uv=False)[0]
    torch_value = torch.linalg.matrix_norm(torch.from_numpy(a), ord=2).item()
    power = power_iteration_spectral_norm(a, n_iter=2000)
    assert math.isclose(ours, svd, rel_tol=1e-10, abs_tol=1e-300)
    assert math.isclose(ours, torch_value, rel_tol=1e-10)
    assert power <= svd * (1 + 1e-12) and math.isclose(power, svd, rel_tol=1e-6)


@settings(deadline=None)
@given(matrices())
def test_frobenius_and_l21_three_ways(a):
    loop_fro = math.sqrt(sum(float(x) ** 2 for x in a.ravel()))
    assert math.isclose(frobenius_norm(a), np.linalg.norm(a, "fro"), rel_tol=1e-12)
    assert math.isclose(frobenius_norm(a), torch.linalg.matrix_norm(torch.from_numpy(a)).item(),
                        rel_tol=1e-12)
    assert math.isclose(frobenius_norm(a), loop_fro, rel_tol=1e-12)
    loop_l21 = sum(math.sqrt(sum(float(x) ** 2 for x in row)) for row in a)
    assert math.isclose(l21_norm(a), loop_l21, rel_tol=1e-12)
    assert math.isclose(l21_norm(a), np.linalg.norm(a, axis=1).sum(), rel_tol=1e-12)
    assert math.isclose(l21_norm(a), torch.linalg.vector_norm(torch.from_numpy(a), dim=1)
                        .sum().item(), rel_tol=1e-12)


def test_norm_inequalities_and_float64():
    a32 = torch.randn(40, 70, generator=torch.Generator().manual_seed(3))
    norms = matrix_norms(a32)
    a64 = a32.double().numpy()
    assert isinstance(norms.spectral, float)
    # float64 arithmetic on the float32 values, not float32 arithmetic
    assert norms.frobenius == math.sqrt(float((a64 ** 2).sum())) or math.isclose(
        norms.frobenius, math.sqrt(float((a64 ** 2).sum())), rel_tol=1e-15)
    assert norms.spectral <= norms.frobenius <= norms.l21 * (1 + 1e-12)
    assert norms.frobenius <= math.sqrt(min(a64.shape)) * norms.spectral * (1 + 1e-12)


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 1000), st.sampled_from([(40, 300), (300, 40), (25, 25)]))
def test_lanczos_route_matches_svd_and_is_not_below_it(seed, shape):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    svd = np.linalg.svd(a, compute_uv=False)[0]
    lanczos = lanczos_spectral_norm(a)
    routed = spectral_norm(a, exact_max_dim=5)  # forced onto the iterative route
    for value in (lanczos, routed):
        assert value >= svd * (1 - 1e-13)
        assert math.isclose(value, svd, rel_tol=1e-8)
    exact_norms, g = norms_and_gram(a)
    assert g is not None and math.isclose(exact_norms.spectral, svd, rel_tol=1e-12)


@settings(deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.booleans())
def test_conv_bias_spectral_norm_matches_the_dense_matrix(m, c_out, c_in, seed, zero_bias):
    rng = np.random.default_rng(seed)
    filt = rng.standard_normal((c_out, c_in))
    bias = np.zeros((m, c_out)) if zero_bias else rng.standard_normal((m, c_out)) * 3
    dense = np.zeros((m * c_out, m * c_in + 1))
    for i in range(m):
        dense[i * c_out:(i + 1) * c_out, i * c_in:(i + 1) * c_in] = filt
        dense[i * c_out:(i + 1) * c_out, -1] = bias[i]
    svd = np.linalg.svd(dense, compute_uv=False)[0]
    ours = conv_bias_spectral_norm(filt, bias)
    torch_value = torch.linalg.matrix_norm(torch.from_numpy(dense), ord=2).item()
    assert ours >= svd * (1 - 1e-14)  # the upper end of the bisection bracket
    assert math.isclose(ours, svd, rel_tol=1e-12)
    assert math.isclose(ours, torch_value, rel_tol=1e-10)


def test_unrolled_convolution_norms():
    """‖I_m ⊗ A‖_σ = ‖A‖_σ, ‖I_m ⊗ A‖_F = √m ‖A‖_F, (2,1) = m ‖A‖_{2,1}."""
    rng = np.random.default_rng(0)
    a, m = rng.standard_normal((3, 5)), 7
    big = np.kron(np.eye(m), a)
    assert math.isclose(spectral_norm(big), spectral_norm(a), rel_tol=1e-12)
    assert math.isclose(frobenius_norm(big), math.sqrt(m) * frobenius_norm(a), rel_tol=1e-12)
    assert math.isclose(l21_norm(big), m * l21_norm(a), rel_tol=1e-12)
