"""Evaluation protocols shared by every model (SPEC §5).

A model is evaluated through two callables, so baselines and Conv4Rec go through the same code:

* ``predict_ratings(users, items) -> ndarray`` the predicted rating of each (user, item) pair;
* ``score_items(users) -> Tensor (len(users), n_items)`` ranking scores (higher is better).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

from conv4rec.data import Interactions
from conv4rec.metrics import mae, ndcg_at_k, recall_at_k, rmse

RatingFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
ScoreFn = Callable[[np.ndarray], torch.Tensor]


def evaluate_explicit(predict_ratings: RatingFn, test: Interactions) -> dict[str, float]:
    """RMSE and MAE of the predicted ratings on the test interactions."""
    predicted = predict_ratings(test.user, test.item)
    return {"rmse": rmse(predicted, test.rating), "mae": mae(predicted, test.rating)}


def evaluate_ranking(score_items: ScoreFn, known: Interactions, test: Interactions, *,
                     recall_ks: tuple[int, ...] = (20, 50), ndcg_ks: tuple[int, ...] = (100,),
                     batch_size: int = 1024) -> dict[str, float]:
    """Full-ranking Recall@k and NDCG@k of each user's test items (weak generalization).

    Every item not in the user's ``known`` (training or fold-in) interactions is ranked; the
    known ones are excluded. Recall@k is hits / min(k, |test items|) (Liang et al. 2018).
    Metrics are averaged over the users that have test items.
    """
    users = np.unique(test.user)
    shape = (known.n_users, known.n_items)
    seen = sp.csr_matrix((np.ones(known.n_observed, bool), (known.user, known.item)), shape=shape)
    relevant = sp.csr_matrix((np.ones(test.n_observed, np.float32), (test.user, test.item)),
                             shape=shape)
    per_user: dict[str, list[np.ndarray]] = {f"recall@{k}": [] for k in recall_ks}
    per_user.update({f"ndcg@{k}": [] for k in ndcg_ks})
    for b in range(0, len(users), batch_size):
        batch = users[b:b + batch_size]
        scores = score_items(batch)
        exclude = torch.as_tensor(seen[batch].toarray())
        rel = relevant[batch]
        for k in recall_ks:
            per_user[f"recall@{k}"].append(recall_at_k(scores, rel, k, exclude))
        for k in ndcg_ks:
            per_user[f"ndcg@{k}"].append(ndcg_at_k(scores, rel, k, exclude))
    return {name: float(np.nanmean(np.concatenate(vals))) if vals else float("nan")
            for name, vals in per_user.items()}
