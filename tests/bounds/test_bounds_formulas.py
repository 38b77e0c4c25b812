"""Each bound against a naive NumPy transcription, and the properties every bound must have:
non-decreasing in every norm, scaling with the weights as its formula says, falling with n at
its stated rate, growing as δ shrinks (docs/bounds.md §2-§4)."""

from __future__ import annotations

import math

import numpy as np
import torch
from bounds_helpers import naive_golowich, naive_spectral
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bounds.bartlett2017 import bartlett2017_spectral
from bounds.chain import DEFAULT_GRID, RadiusGrid, loss_constants
from bounds.golowich2018 import golowich2018_frobenius
from bounds.ledent2021 import ledent2021_weight_sharing
from conv4rec.loss import interaction_losses, per_row_mean

norm_values = st.floats(1e-3, 1e3)
n_values = st.integers(2, 10**7)
delta_values = st.floats(1e-8, 0.5)


def naive_grid(x: float, r_min: float = 2.0 ** -20, ratio: float = 2.0 ** 0.125):
    """The smallest grid radius >= x and the log price of its union-bound weight."""
    k = 0
    while r_min * ratio ** k < x:
        k += 1
    return r_min * ratio ** k, math.log((k + 1) * (k + 2))


def gridded(norms):
    pairs = [naive_grid(x) for x in norms]
    return [r for r, _ in pairs], sum(p for _, p in pairs)


@st.composite
def loss_setups(draw):
    n_cells = draw(st.integers(1, 10**5))
    eta = draw(st.floats(1e-8, 0.5))
    scale = draw(st.floats(0.1, 3.0))
    loss_range, lipschitz = loss_constants(n_cells=n_cells, eta=eta, scale=scale)
    return {"n_outputs": n_cells, "loss_range": loss_range, "loss_lipschitz": lipschitz}


@st.composite
def golowich_args(draw):
    depth = draw(st.integers(1, 6))
    loss = draw(loss_setups())
    return dict(frobenius=draw(st.lists(norm_values, min_size=depth, max_size=depth)),
                input_sq_sum=draw(st.floats(1e-2, 1e6)), n=draw(n_values),
                delta=draw(delta_values), **loss)


@st.composite
def spectral_args(draw):
    depth = draw(st.integers(1, 6))
    loss = draw(loss_setups())
    loss.pop("n_outputs")
    return dict(spectral=draw(st.lists(norm_values, min_size=depth, max_size=depth)),
                l21_distance=draw(st.lists(norm_values, min_size=depth, max_size=depth)),
                lipschitz=draw(st.lists(st.floats(0.25, 2.0), min_size=depth, max_size=depth)),
                input_sq_sum=draw(st.floats(1e-2, 1e6)), n=draw(n_values),
                delta=draw(delta_values), **loss)


def _ledent(args, **over):
    a = {**args, **over}
    dims = a.pop("cover_dims", None) or [7] * len(a["spectral"])
    return ledent2021_weight_sharing(cover_dims=dims, **a)


def _bartlett(args, **over):
    a = {**args, **over}
    return bartlett2017_spectral(max_dim=a.pop("max_dim", 50), **a)


SPECTRAL_FAMILIES = [_bartlett, _ledent]


# ------------------------------------------------------------ naive transcriptions
@settings(deadline=None)
@given(golowich_args(), st.booleans())
def test_golowich_matches_naive_transcription(args, use_grid):
    ours = golowich2018_frobenius(grid=DEFAULT_GRID if use_grid else None, **args)
    radii, price = gridded(args["frobenius"]) if use_grid else (args["frobenius"], 0.0)
    naive = naive_golowich(radii=radii, input_sq_sum=args["input_sq_sum"], n=args["n"],
                           n_outputs=args["n_outputs"], loss_range=args["loss_range"],
                           loss_lipschitz=args["loss_lipschitz"], delta=args["delta"],
                           log_price=price)
    assume(math.isfinite(naive) and naive < 1e300)
    assert math.isclose(ours.value, naive, rel_tol=1e-9)
    assert math.isclose(ours.log10_value, math.log10(naive), rel_tol=1e-9, abs_tol=1e-9)


@settings(deadline=None)
@given(spectral_args(), st.booleans(), st.integers(1, 10**6))
def test_bartlett_matches_naive_transcription(args, use_grid, max_dim):
    ours = bartlett2017_spectral(max_dim=max_dim, grid=DEFAULT_GRID if use_grid else None,
                                 **args)
    s, price_s = gridded(args["spectral"]) if use_grid else (args["spectral"], 0.0)
    a, price_a = gridded(args["l21_distance"]) if use_grid else (args["l21_distance"], 0.0)
    naive = naive_spectral(spectral=s, l21=a, lipschitz=args["lipschitz"],
                           log_width=math.log(2 * max_dim ** 2),
                           input_sq_sum=args["input_sq_sum"], n=args["n"],
                           loss_range=args["loss_range"], loss_lipschitz=args["loss_lipschitz"],
                           delta=args["delta"], log_price=price_s + price_a)
    assume(math.isfinite(naive) and naive < 1e300)
    assert math.isclose(ours.value, naive, rel_tol=1e-9)


@settings(deadline=None)
@given(spectral_args(), st.data())
def test_ledent_matches_naive_transcription(args, data):
    dims = data.draw(st.lists(st.integers(1, 10**7), min_size=len(args["spectral"]),
                              max_size=len(args["spectral"])))
    ours = ledent2021_weight_sharing(cover_dims=dims, grid=None, **args)
    naive = naive_spectral(spectral=args["spectral"], l21=args["l21_distance"],
                           lipschitz=args["lipschitz"], log_width=math.log(2 * max(dims)),
                           input_sq_sum=args["input_sq_sum"], n=args["n"],
                           loss_range=args["loss_range"], loss_lipschitz=args["loss_lipschitz"],
                           delta=args["delta"])
    assume(math.isfinite(naive) and naive < 1e300)
    assert math.isclose(ours.value, naive, rel_tol=1e-9)


# ------------------------------------------------------------------ properties
@settings(deadline=None)
@given(golowich_args(), st.data(), st.floats(1.0, 10.0))
def test_golowich_non_decreasing_in_every_norm(args, data, factor):
    j = data.draw(st.integers(0, len(args["frobenius"]) - 1))
    bigger = list(args["frobenius"])
    bigger[j] *= factor
    base = golowich2018_frobenius(**args)
    assert golowich2018_frobenius(**{**args, "frobenius": bigger}).log10_value >= \
        base.log10_value - 1e-12
    more_input = golowich2018_frobenius(**{**args, "input_sq_sum": args["input_sq_sum"]
                                           * factor})
    assert more_input.log10_value >= base.log10_value - 1e-12


@settings(deadline=None)
@given(spectral_args(), st.data(), st.floats(1.0, 10.0), st.sampled_from(SPECTRAL_FAMILIES))
def test_spectral_bounds_non_decreasing_in_every_norm(args, data, factor, family):
    j = data.draw(st.integers(0, len(args["spectral"]) - 1))
    key = data.draw(st.sampled_from(["spectral", "l21_distance", "lipschitz"]))
    bigger = list(args[key])
    bigger[j] *= factor
    base = family(args)
    assert family(args, **{key: bigger}).log10_value >= base.log10_value - 1e-12
    assert family(args, input_sq_sum=args["input_sq_sum"] * factor).log10_value >= \
        base.log10_value - 1e-12


@settings(deadline=None)
@given(golowich_args(), st.floats(1e-3, 1e3), st.data())
def test_golowich_scales_linearly_in_each_frobenius_norm(args, t, data):
    j = data.draw(st.integers(0, len(args["frobenius"]) - 1))
    scaled = list(args["frobenius"])
    scaled[j] *= t
    base = golowich2018_frobenius(grid=None, **args)
    new = golowich2018_frobenius(grid=None, **{**args, "frobenius": scaled})
    assert math.isclose(new.terms["log10_complexity"],
                        base.terms["log10_complexity"] + math.log10(t), rel_tol=1e-9,
                        abs_tol=1e-9)
    assert new.terms["confidence"] == base.terms["confidence"]


@settings(deadline=None)
@given(spectral_args(), st.floats(1e-2, 1e2), st.data(), st.sampled_from(SPECTRAL_FAMILIES))
def test_spectral_radius_scales_with_the_weights(args, t, data, family):
    """Scaling layer j's matrix by t scales s_j and a_j by t, hence R by t; scaling every
    layer scales R by t^L; scaling the inputs by t scales R by t."""
    depth = len(args["spectral"])
    j = data.draw(st.integers(0, depth - 1))
    one = {k: list(args[k]) for k in ("spectral", "l21_distance")}
    for values in one.values():
        values[j] *= t
    every = {k: [x * t for x in args[k]] for k in ("spectral", "l21_distance")}
    base = family(args, grid=None).terms["log10_radius"]
    lt = math.log10(t)
    assert math.isclose(family(args, grid=None, **one).terms["log10_radius"], base + lt,
                        abs_tol=1e-9)
    assert math.isclose(family(args, grid=None, **every).terms["log10_radius"],
                        base + depth * lt, abs_tol=1e-9)
    assert math.isclose(family(args, grid=None, input_sq_sum=args["input_sq_sum"] * t * t)
                        .terms["log10_radius"], base + lt, abs_tol=1e-9)


@settings(deadline=None)
@given(golowich_args(), st.integers(2, 10**6), st.integers(2, 10**6), st.floats(0.1, 10.0))
def test_golowich_falls_like_one_over_root_n(args, n1, n2, per_sample):
    """With a per-sample input bound, Σ‖x‖² = n b² and the bound is c/√n exactly."""
    v1 = golowich2018_frobenius(**{**args, "n": n1, "input_sq_sum": n1 * per_sample})
    v2 = golowich2018_frobenius(**{**args, "n": n2, "input_sq_sum": n2 * per_sample})
    assert math.isclose(v1.log10_value + 0.5 * math.log10(n1),
                        v2.log10_value + 0.5 * math.log10(n2), rel_tol=1e-9, abs_tol=1e-9)


@settings(deadline=None)
@given(spectral_args(), st.integers(3, 10**6), st.integers(3, 10**6), st.floats(0.1, 10.0),
       st.sampled_from(SPECTRAL_FAMILIES))
def test_spectral_bounds_fall_like_log_n_over_root_n(args, n1, n2, per_sample, family):
    """value · √n / ln n is non-increasing in n (docs §3.4)."""
    n1, n2 = sorted((n1, n2))
    v1 = family(args, n=n1, input_sq_sum=n1 * per_sample)
    v2 = family(args, n=n2, input_sq_sum=n2 * per_sample)

    def rate(v, n):
        return v.log10_value + 0.5 * math.log10(n) - math.log10(math.log(n))
    assert rate(v2, n2) <= rate(v1, n1) + 1e-9


@settings(deadline=None)
@given(golowich_args(), spectral_args(), st.floats(1e-9, 0.9), st.floats(1e-9, 0.9))
def test_every_bound_grows_as_delta_shrinks(g_args, s_args, d1, d2):
    assume(abs(d1 - d2) > 1e-12)
    small, large = sorted((d1, d2))
    pairs = [(golowich2018_frobenius(**{**g_args, "delta": small}),
              golowich2018_frobenius(**{**g_args, "delta": large}))]
    pairs += [(family(s_args, delta=small), family(s_args, delta=large))
              for family in SPECTRAL_FAMILIES]
    for tight, loose in pairs:  # the value may not move in float64 when the complexity rules
        assert tight.value >= loose.value
        assert tight.terms["confidence"] > loose.terms["confidence"]


# --------------------------------------------------------------------- the grid
@settings(deadline=None)
@given(st.floats(0.0, 1e8), st.floats(0.0, 1e8))
def test_grid_covers_and_is_monotone(x, y):
    grid = DEFAULT_GRID
    kx, ky = grid.index(x), grid.index(y)
    assert math.exp(grid.log_radius(kx)) >= x * (1 - 1e-12)
    if x > grid.r_min:
        assert math.exp(grid.log_radius(kx)) <= x * grid.ratio * (1 + 1e-9)
    if x <= y:
        assert kx <= ky and grid.log_price(kx) <= grid.log_price(ky)
    assert (naive_grid(x)[1] == grid.log_price(kx)) or math.isclose(
        naive_grid(x)[0], math.exp(grid.log_radius(kx)), rel_tol=1e-9)


def test_grid_weights_spend_exactly_delta():
    """Σ_{k<K} 1/((k+1)(k+2)) = 1 − 1/(K+1): the weights sum to one."""
    for big_k in (1, 10, 1000):
        total = sum(math.exp(-RadiusGrid.log_price(k)) for k in range(big_k))
        assert math.isclose(total, 1 - 1 / (big_k + 1), rel_tol=1e-12)


# ------------------------------------------------------------------ the loss
@settings(deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6), st.floats(1e-6, 0.5),
       st.integers(0, 2**31 - 1), st.floats(1e-3, 30.0))
def test_loss_is_bounded_and_root_two_lipschitz(m, n_levels, n_targets, eta, seed, spread):
    """The per-row mean of ℓ_η lies in [0, log(Cm/η)] and is √2-Lipschitz in the logits."""
    gen = torch.Generator().manual_seed(seed)
    a = (spread * torch.randn(1, m, n_levels, generator=gen)).double()
    b = (spread * torch.randn(1, m, n_levels, generator=gen)).double()
    rows = torch.zeros(n_targets, dtype=torch.long)
    items = torch.randint(0, m, (n_targets,), generator=gen)
    levels = torch.randint(0, n_levels, (n_targets,), generator=gen)
    loss_range, lipschitz = loss_constants(n_cells=m * n_levels, eta=eta)

    def h(logits):
        return per_row_mean(interaction_losses(logits, rows, items, levels, eta=eta), rows, 1)

    ha, hb = h(a).item(), h(b).item()
    assert -1e-12 <= ha <= loss_range + 1e-9
    assert abs(ha - hb) <= lipschitz * torch.linalg.vector_norm(a - b).item() * (1 + 1e-9) \
        + 1e-12
    a.requires_grad_(True)
    (grad,) = torch.autograd.grad(h(a).sum(), a)
    assert torch.linalg.vector_norm(grad).item() <= lipschitz * (1 + 1e-9)


def test_loss_constants_reject_bad_eta():
    for bad in (0.0, 1.0, -0.1):
        try:
            loss_constants(n_cells=10, eta=bad)
        except ValueError as exc:
            assert "eta" in str(exc)
        else:
            raise AssertionError("expected ValueError")
    assert np.isclose(loss_constants(n_cells=10, eta=0.1, scale=2.0)[0], 2 * math.log(100))
