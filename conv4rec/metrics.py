"""Accuracy and full-ranking metrics shared by every model (no sampled metrics).

Ranking metrics take a dense score matrix (users x items), a 0/1 sparse matrix of each user's
relevant (held-out) items and a mask of items that may not be recommended (the user's training
items). Recall@k is normalised by min(k, |relevant|) as in Liang et al. (2018); NDCG@k uses
binary gains and the ideal DCG of min(k, |relevant|) hits. Ties in scores are broken by item
index, lower first (a stable sort), so results never depend on ``topk``'s unspecified order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error."""
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error."""
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    return float(np.mean(np.abs(predicted - actual)))


def _rank_top_k(scores: torch.Tensor, k: int, exclude: torch.Tensor | None) -> torch.Tensor:
    """Top-k item indices per row; excluded items never appear; ties go to the lower index."""
    scores = scores.to(torch.float64)
    if exclude is not None:
        scores = scores.masked_fill(exclude, float("-inf"))
    # Stable tie-break: sort descending by score, ascending by index.
    order = torch.argsort(-scores, dim=-1, stable=True)
    return order[:, :k]


def ranking_hits(scores: torch.Tensor, relevant: sp.csr_matrix, k: int,
                 exclude: torch.Tensor | None = None) -> np.ndarray:
    """hits[u, r] = 1 if the item ranked r-th for user u is relevant. Shape (B, k)."""
    top = _rank_top_k(scores, k, exclude).cpu().numpy()
    rel = relevant.tocsr()
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    return np.asarray(rel[rows, top.ravel()]).reshape(top.shape) > 0


def recall_at_k(scores: torch.Tensor, relevant: sp.csr_matrix, k: int,
                exclude: torch.Tensor | None = None) -> np.ndarray:
    """Recall@k per user, hits / min(k, |relevant|) (users without relevant items get NaN)."""
    hits = ranking_hits(scores, relevant, k, exclude).sum(axis=1)
    n_rel = np.asarray(relevant.getnnz(axis=1), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, hits / np.minimum(k, n_rel), np.nan)


def ndcg_at_k(scores: torch.Tensor, relevant: sp.csr_matrix, k: int,
              exclude: torch.Tensor | None = None) -> np.ndarray:
    """NDCG@k per user with binary gains (users without relevant items get NaN)."""
    hits = ranking_hits(scores, relevant, k, exclude).astype(float)
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))  # k may exceed the item count
    dcg = hits @ discount
    n_rel = np.asarray(relevant.getnnz(axis=1))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(n_rel, hits.shape[1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, dcg / ideal, np.nan)
