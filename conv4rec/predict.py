"""Predictions of SPEC §4, computed from the joint log-probabilities log q_u(i, c).

Every function takes ``log_q`` of shape (B, m, C), as returned by
``Conv4RecEstimator.predict_log_proba``, so consumption and rating come from one forward pass.
"""

from __future__ import annotations

import numpy as np
import torch


def default_tau(levels: np.ndarray | torch.Tensor) -> float:
    """The default threshold of a high rating: v_1 + 0.75 (v_C - v_1)."""
    lo, hi = float(levels[0]), float(levels[-1])
    return lo + 0.75 * (hi - lo)


def log_consumption(log_q: torch.Tensor) -> torch.Tensor:
    """log q_u(i) = log sum_c q_u(i, c). Shape: (B, m, C) -> (B, m)."""
    return torch.logsumexp(log_q, dim=-1)


def consumption(log_q: torch.Tensor) -> torch.Tensor:
    """q_u(i): the probability that the user's next interaction is with item i. (B, m)."""
    return log_consumption(log_q).exp()


def rating_distribution(log_q: torch.Tensor) -> torch.Tensor:
    """p_u(c | i) = q_u(i, c) / q_u(i). Shape: (B, m, C), summing to 1 over c."""
    return torch.softmax(log_q, dim=-1)


def expected_rating(log_q: torch.Tensor, levels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """sum_c v_c p_u(c | i). Shape: (B, m, C) -> (B, m)."""
    values = torch.as_tensor(np.asarray(levels), dtype=log_q.dtype, device=log_q.device)
    return rating_distribution(log_q) @ values


def prob_high(log_q: torch.Tensor, levels: np.ndarray | torch.Tensor,
              tau: float | None = None) -> torch.Tensor:
    """P(high) = sum_{c: v_c >= tau} p_u(c | i). Shape: (B, m, C) -> (B, m)."""
    values = np.asarray(levels, dtype=np.float64)
    tau = default_tau(values) if tau is None else tau
    high = torch.as_tensor(values >= tau - 1e-9, device=log_q.device)
    return rating_distribution(log_q)[..., high].sum(dim=-1)


def top_n(scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of the k highest scores per row, never an excluded (e.g. seen) item.

    Shape:
        scores: (B, m); exclude: (B, m) bool; output: (B, min(k, m)), best first.
    """
    if exclude is not None:
        scores = scores.masked_fill(exclude, float("-inf"))
    return torch.topk(scores, min(k, scores.shape[-1]), dim=-1).indices


def hidden_gems(log_q: torch.Tensor, levels: np.ndarray | torch.Tensor, k: int = 10, *,
                fraction: float = 0.1, tau: float | None = None,
                exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Items a user would rarely pick but would enjoy (F5).

    Items inside the user's top ``fraction`` of consumption (and excluded ones) are dropped;
    the rest are ranked by P(high).

    Shape:
        log_q: (B, m, C); exclude: (B, m) bool; output: (B, k) item indices, best first.
    """
    consume = log_consumption(log_q)
    n_top = int(np.ceil(fraction * consume.shape[-1]))
    popular = torch.zeros_like(consume, dtype=torch.bool)
    if n_top > 0:
        popular.scatter_(1, torch.topk(consume, n_top, dim=-1).indices, True)
    if exclude is not None:
        popular |= exclude
    return top_n(prob_high(log_q, levels, tau), k, popular)
