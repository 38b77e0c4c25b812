"""The joint implicit + explicit loss of SPEC §3, computed from one set of logits."""

from __future__ import annotations

import math

import torch

from conv4rec.model import joint_log_softmax


def mixed_log_prob(log_q: torch.Tensor, eta: float) -> torch.Tensor:
    """log((1 - eta) q + eta / (C m)): the joint distribution mixed with the uniform one.

    With ``eta > 0`` the log-loss lies in [0, log(C m / eta)] (SPEC §3).

    Shape:
        log_q: (B, m, C); output: same.
    """
    if eta == 0.0:
        return log_q
    n_cells = log_q.shape[-1] * log_q.shape[-2]
    floor = torch.full_like(log_q, math.log(eta / n_cells))
    return torch.logaddexp(log_q + math.log1p(-eta), floor)


def interaction_losses(logits: torch.Tensor, rows: torch.Tensor, items: torch.Tensor,
                       levels: torch.Tensor, *, alpha: float = 1.0, beta: float = 1.0,
                       eta: float = 0.0) -> torch.Tensor:
    """-[alpha log q_u(i) + beta log q_u(c | i)] for each target interaction (u, i, c).

    alpha = beta = 1 gives the joint negative log-likelihood -log q_u(i, c) exactly.

    Shape:
        logits: (B, m, C); rows, items, levels: (n,); output: (n,).
    """
    log_q = mixed_log_prob(joint_log_softmax(logits), eta)
    joint = log_q[rows, items, levels]
    if alpha == beta:
        return -alpha * joint
    log_consume = torch.logsumexp(log_q[rows, items], dim=-1)
    return -(alpha * log_consume + beta * (joint - log_consume))


def per_row_mean(values: torch.Tensor, rows: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Mean of ``values`` over the interactions of each row (NaN for a row without any).

    Shape:
        values, rows: (n,); output: (B,).
    """
    total = torch.zeros(n_rows, dtype=values.dtype, device=values.device)
    total.index_add_(0, rows, values)
    count = torch.bincount(rows, minlength=n_rows).to(values.dtype)
    return total / count


class ColumnL2(torch.autograd.Function):
    """``(lam / 2) * sum_p ||p||^2`` over the tensors ``params``: the column L2 penalty
    (``Conv4RecConfig.column_l2``) as one autograd node.

    ``0.5 * lam * sum(p.square().sum() for p in params)`` gives the same value and the same
    gradients bit for bit (tested), but builds a squared copy of every parameter in the forward
    pass and two more in the backward; with wide per-column matrices that was half of an
    ML-1M training epoch (docs/performance.md). Here the forward reads each parameter once and
    the backward writes ``g * lam * p`` once per parameter, computed as the composite's
    ``(g * (lam / 2)) * (2 p)`` is rounded (scaling by 2 is exact, so the product is the same).
    """

    @staticmethod
    def forward(ctx, lam: float, *params: torch.Tensor) -> torch.Tensor:
        ctx.lam = lam
        ctx.save_for_backward(*params)
        return 0.5 * lam * sum(torch.linalg.vector_norm(p) ** 2 for p in params)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        half = grad * (0.5 * ctx.lam)  # the composite's upstream gradient, a 0-dim float32
        return (None, *(p * (2 * half) for p in ctx.saved_tensors))
