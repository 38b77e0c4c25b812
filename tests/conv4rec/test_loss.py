"""The joint loss against naive transcriptions, and the bounded (mixed) loss."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from conv4rec.loss import ColumnL2, interaction_losses, mixed_log_prob, per_row_mean
from conv4rec.model import joint_log_softmax


@st.composite
def logits_and_targets(draw):
    b, m, c = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    logits = torch.as_tensor(rng.normal(scale=3.0, size=(b, m, c)))
    n = draw(st.integers(1, 10))
    rows, items, levels = (torch.as_tensor(rng.integers(0, k, size=n)) for k in (b, m, c))
    return logits, rows, items, levels


def naive_probs(logits: np.ndarray) -> np.ndarray:
    """q_u(i, c) by hand: exp / sum over all C*m cells, row by row."""
    out = np.empty_like(logits)
    for u in range(logits.shape[0]):
        e = np.exp(logits[u] - logits[u].max())
        out[u] = e / e.sum()
    return out


@given(logits_and_targets())
def test_alpha_beta_one_is_the_joint_nll(case):
    logits, rows, items, levels = case
    q = naive_probs(logits.numpy())
    expected = [-math.log(q[u, i, c]) for u, i, c in zip(rows.tolist(), items.tolist(),
                                                           levels.tolist())]
    got = interaction_losses(logits, rows, items, levels)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-10)


@given(logits_and_targets(), st.floats(0, 3), st.floats(0, 3))
def test_weighted_loss_is_implicit_plus_explicit_part(case, alpha, beta):
    logits, rows, items, levels = case
    q = naive_probs(logits.numpy())
    expected = []
    for u, i, c in zip(rows.tolist(), items.tolist(), levels.tolist()):
        q_item = q[u, i].sum()
        expected.append(-(alpha * math.log(q_item) + beta * math.log(q[u, i, c] / q_item)))
    got = interaction_losses(logits, rows, items, levels, alpha=alpha, beta=beta)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-9)


@given(logits_and_targets(), st.floats(1e-6, 0.5))
def test_mixed_loss_is_bounded_and_equals_its_definition(case, eta):
    logits, rows, items, levels = case
    n_cells = logits.shape[1] * logits.shape[2]
    q = naive_probs(logits.numpy())
    mixed = (1 - eta) * q + eta / n_cells
    got = interaction_losses(logits, rows, items, levels, eta=eta).numpy()
    np.testing.assert_allclose(got, -np.log(mixed[rows, items, levels]), rtol=1e-9, atol=1e-12)
    assert np.all(got >= -1e-12) and np.all(got <= math.log(n_cells / eta) + 1e-9)
    np.testing.assert_allclose(mixed_log_prob(joint_log_softmax(logits), eta).exp()
                               .sum(dim=(1, 2)).numpy(), 1.0, rtol=1e-12)


def test_per_row_mean_averages_within_rows():
    values = torch.tensor([1.0, 3.0, 10.0])
    rows = torch.tensor([0, 0, 2])
    out = per_row_mean(values, rows, 3)
    assert out[0] == 2.0 and out[2] == 10.0 and torch.isnan(out[1])


@given(st.integers(0, 2**31 - 1), st.sampled_from([1e-4, 3e-3, 0.1, 1.7]))
def test_column_l2_node_matches_the_composite_penalty_bit_for_bit(seed, lam):
    """The one-node penalty against its plain transcription: the same value (to rounding: the
    sum of squares is reduced differently) and the same gradients bit for bit, with each
    parameter also used twice by the loss, so that the order in which autograd sums a
    parameter's gradient contributions is exercised as in training."""
    rng = np.random.default_rng(seed)

    def grads(penalty):
        params = [torch.tensor(rng_params[i], requires_grad=True) for i in range(3)]
        loss = sum((p.sin() * 3).sum() + (p * 0.7).exp().mean() for p in params)
        (loss + penalty(params)).backward()
        return [p.grad for p in params], penalty(params).item()

    rng_params = [rng.normal(size=shape).astype(np.float32)
                  for shape in ((7, 5), (11,), (3, 4, 2))]
    plain, plain_value = grads(lambda ps: 0.5 * lam * sum(p.square().sum() for p in ps))
    node, node_value = grads(lambda ps: ColumnL2.apply(lam, *ps))
    assert all(torch.equal(a, b) for a, b in zip(plain, node))
    assert math.isclose(plain_value, node_value, rel_tol=1e-5)
