"""Rademacher complexities with a closed form, estimated by Monte Carlo, stay below the bounds.

For one linear layer over a Frobenius ball, sup_{‖w‖<=B} (1/n) Σ_i σ_i <w, x_i> =
(B/n) ‖Σ_i σ_i x_i‖, attained at w = B v/‖v‖ with v = Σ_i σ_i x_i; its expectation over σ is
the empirical Rademacher complexity. The tolerance is four Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds.bartlett2017 import dudley_log_rademacher
from bounds.golowich2018 import golowich2018_log_rademacher

N_DRAWS = 4000


def _monte_carlo(x: np.ndarray, seed: int) -> tuple[float, float]:
    """Mean and standard error of ‖Σ_i σ_i x_i‖ over Rademacher draws σ."""
    sigma = np.random.default_rng(seed).choice([-1.0, 1.0], size=(N_DRAWS, len(x)))
    norms = np.linalg.norm(sigma @ x, axis=1)
    return float(norms.mean()), float(norms.std(ddof=1) / math.sqrt(N_DRAWS))


@st.composite
def datasets(draw):
    n, d = draw(st.integers(1, 60)), draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, d)) * draw(st.sampled_from([1e-2, 1.0, 30.0]))
    if draw(st.booleans()):  # nearly collinear points: the worst case for Jensen's step
        x = np.outer(rng.standard_normal(n), rng.standard_normal(d)) + 1e-3 * x
    return x, draw(st.integers(0, 2**32 - 1))


def test_closed_form_is_the_supremum():
    rng = np.random.default_rng(1)
    x, radius = rng.standard_normal((10, 4)), 2.0
    sigma = rng.choice([-1.0, 1.0], size=10)
    v = sigma @ x
    closed = radius / 10 * np.linalg.norm(v)
    best = radius * v / np.linalg.norm(v)
    assert math.isclose(float(sigma @ (x @ best)) / 10, closed, rel_tol=1e-12)
    for w in rng.standard_normal((200, 4)):  # no other point of the ball does better
        w = radius * w / np.linalg.norm(w)
        assert float(sigma @ (x @ w)) / 10 <= closed + 1e-12


@settings(deadline=None, max_examples=15)
@given(datasets(), st.floats(1e-2, 1e2))
def test_golowich_bound_exceeds_the_monte_carlo_estimate(data, radius):
    x, seed = data
    n = len(x)
    mean, se = _monte_carlo(x, seed)
    estimate = radius / n * mean
    bound = math.exp(golowich2018_log_rademacher(log_radii=[math.log(radius)],
                                                 input_sq_sum=float((x ** 2).sum()), n=n))
    assert bound >= estimate + 4 * radius / n * se


@settings(deadline=None, max_examples=15)
@given(datasets(), st.floats(1e-2, 1e2))
def test_dudley_bound_exceeds_the_monte_carlo_estimate(data, radius):
    """G = {x -> 1/2 + <w, x> / (2 B b)}, ‖w‖ <= B, b = max ‖x_i‖, is [0,1]-valued; BFT's
    Lemma 3.2 covers it with ln N <= ⌈‖X‖²/(4 b² ε²)⌉ ln(2d), so R = ‖X‖_F / (2b), one layer."""
    x, seed = data
    n, d = x.shape
    b = float(np.linalg.norm(x, axis=1).max())
    mean, se = _monte_carlo(x, seed)
    estimate = mean / (2 * b * n)  # (1/(2Bb)) (B/n) E‖Σ σ x‖; B cancels
    log_radius = math.log(float(np.linalg.norm(x)) / (2 * b))
    bound = math.exp(dudley_log_rademacher(log_radius=log_radius, log_width=math.log(2 * d),
                                           n_layers=1, n=n))
    assert bound >= estimate + 4 * se / (2 * b * n)
    del radius  # the class does not depend on B once normalised
