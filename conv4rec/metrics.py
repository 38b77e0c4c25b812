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


def ranked_metrics(top: np.ndarray, relevant: sp.csr_matrix, *, recall_ks: tuple[int, ...] = (),
                   ndcg_ks: tuple[int, ...] = (),
                   item_weight: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Recall@k and NDCG@k per user from ranked item lists.

    ``top`` (B, k') holds each user's ranked items (from :func:`_rank_top_k`); ``item_weight``
    (e.g. pop(i)^-beta) weights each hit, and the denominators are the best achievable weighted
    sums, so 1 is a perfect ranking; None gives the plain metrics, Recall@k = hits /
    min(k, |relevant|). Users without relevant items get NaN.
    """
    rel = relevant.tocsr()
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    hit = (np.asarray(rel[rows, top.ravel()]).reshape(top.shape) > 0).astype(np.float64)
    n_rel = np.asarray(rel.getnnz(axis=1))
    rel_dense = rel.toarray() > 0
    gain = hit if item_weight is None else hit * item_weight[top]
    weights = rel_dense.astype(np.float64) if item_weight is None else rel_dense * item_weight
    ideal_gain = -np.sort(-weights, axis=1)[:, :top.shape[1]]  # best gains, largest first
    discount = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))  # k may exceed the item count
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in recall_ks:
            kk = min(k, top.shape[1])
            ratio = gain[:, :kk].sum(axis=1) / ideal_gain[:, :kk].sum(axis=1)
            out[f"recall@{k}"] = np.where(n_rel > 0, ratio, np.nan)
        for k in ndcg_ks:
            kk = min(k, top.shape[1])
            ratio = (gain[:, :kk] @ discount[:kk]) / (ideal_gain[:, :kk] @ discount[:kk])
            out[f"ndcg@{k}"] = np.where(n_rel > 0, ratio, np.nan)
    return out


def recall_at_k(scores: torch.Tensor, relevant: sp.csr_matrix, k: int,
                exclude: torch.Tensor | None = None) -> np.ndarray:
    """Recall@k per user, hits / min(k, |relevant|) (users without relevant items get NaN)."""
    top = _rank_top_k(scores, k, exclude).cpu().numpy()
    return ranked_metrics(top, relevant, recall_ks=(k,))[f"recall@{k}"]


def ndcg_at_k(scores: torch.Tensor, relevant: sp.csr_matrix, k: int,
              exclude: torch.Tensor | None = None) -> np.ndarray:
    """NDCG@k per user with binary gains (users without relevant items get NaN)."""
    top = _rank_top_k(scores, k, exclude).cpu().numpy()
    return ranked_metrics(top, relevant, ndcg_ks=(k,))[f"ndcg@{k}"]
