"""Every bound exceeds the exact generalization gap in a simulation with a known distribution.

Users of three types; each draws one input interaction and one target interaction (item,
level) from its type's distribution P_t over the C·m cells. A tiny Conv4Rec is trained on n
such users; its population risk under ℓ_η is the finite sum
Σ_t π_t Σ_x P_t(x) Σ_y P_t(y) ℓ_η(f(x); y), so the gap is exact.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from bounds_helpers import make_checkpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds import CheckpointStats, compute_bounds
from conv4rec.config import Conv4RecConfig
from conv4rec.loss import interaction_losses
from conv4rec.model import Conv4Rec

M, N_LEVELS, ETA = 3, 2, 1e-3
TYPE_WEIGHTS = np.array([0.5, 0.3, 0.2])
CELL_PROBS = np.array([[0.50, 0.20, 0.10, 0.10, 0.05, 0.05],
                       [0.05, 0.05, 0.10, 0.60, 0.10, 0.10],
                       [0.10, 0.10, 0.10, 0.10, 0.30, 0.30]])  # cell = item * C + level


def _losses(model: Conv4Rec, in_cells: np.ndarray, scaling: str) -> torch.Tensor:
    """ℓ_η(f(x); y) for each input cell x (rows) and every target cell y (columns)."""
    k = len(in_cells)
    rows = torch.arange(k)
    scale = None if scaling == "none" else torch.ones(k)  # one input interaction: s = 1
    logits = model(rows, torch.as_tensor(in_cells // N_LEVELS),
                   torch.as_tensor(in_cells % N_LEVELS), k, scale).double()
    cells = np.arange(M * N_LEVELS)
    out = [interaction_losses(logits, rows.repeat_interleave(len(cells)),
                              torch.as_tensor(np.tile(cells // N_LEVELS, k)),
                              torch.as_tensor(np.tile(cells % N_LEVELS, k)), eta=ETA)]
    return out[0].view(k, len(cells))


def _simulate(seed: int, n: int, activation: str, scaling: str, item_bias: bool):
    rng = np.random.default_rng(seed)
    types = rng.choice(3, size=n, p=TYPE_WEIGHTS)
    inputs = np.array([rng.choice(6, p=CELL_PROBS[t]) for t in types])
    targets = np.array([rng.choice(6, p=CELL_PROBS[t]) for t in types])
    cfg = Conv4RecConfig(in_channels=2, hidden=(4,), out_channels=2, activation=activation,
                         input_scaling=scaling, item_bias=item_bias, shared_weights=False)
    model = Conv4Rec(M, N_LEVELS, cfg)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    rows = torch.arange(n)
    t_items, t_levels = (torch.as_tensor(targets // N_LEVELS),
                         torch.as_tensor(targets % N_LEVELS))
    scale = None if scaling == "none" else torch.ones(n)
    for _ in range(150):  # overfit the n users on purpose
        logits = model(rows, torch.as_tensor(inputs // N_LEVELS),
                       torch.as_tensor(inputs % N_LEVELS), n, scale)
        loss = interaction_losses(logits, rows, t_items, t_levels, eta=ETA).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        table = _losses(model, np.arange(M * N_LEVELS), scaling).numpy()  # (x, y)
    empirical = float(table[inputs, targets].mean())
    population = float(sum(w * p @ table @ p for w, p in zip(TYPE_WEIGHTS, CELL_PROBS)))
    ckpt = make_checkpoint(model, initial, n_rows=n, max_input_interactions=1, n_observed=n,
                           risk={"eta": ETA, "train": empirical, "test": population})
    return ckpt, population - empirical


@settings(deadline=None, max_examples=8)
@given(st.integers(0, 2**16), st.integers(4, 40), st.sampled_from(["relu", "tanh"]),
       st.sampled_from(["none", "sqrt", "mean"]), st.booleans())
def test_every_bound_exceeds_the_exact_gap(seed, n, activation, scaling, item_bias):
    ckpt, gap = _simulate(seed, n, activation, scaling, item_bias)
    stats = CheckpointStats.from_checkpoint(ckpt)
    assert math.isclose(stats.gap, gap, rel_tol=1e-12, abs_tol=1e-12)
    results = compute_bounds(stats, delta=0.05)
    applicable = [b for b in results if b.applicable]
    assert len(applicable) == (4 if activation == "relu" else 2)
    for bound in applicable:
        assert bound.value >= gap, (bound.name, bound.value, gap)
        assert bound.value >= 0


def test_the_simulated_gap_is_a_real_overfitting_gap():
    """Sanity check of the setting: with few users the trained model overfits."""
    gaps = [_simulate(seed, 6, "relu", "none", True)[1] for seed in range(3)]
    assert max(gaps) > 0.05
