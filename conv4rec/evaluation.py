"""Evaluation protocols shared by every model (SPEC §5).

A model is evaluated through two callables, so baselines and Conv4Rec go through the same code:

* ``predict_ratings(users, items) -> ndarray`` the predicted rating of each (user, item) pair;
* ``score_items(users) -> Tensor (len(users), n_items)`` ranking scores (higher is better).

Protocols
---------
* explicit (:func:`evaluate_explicit`, :func:`explicit_per_user`): RMSE and MAE of the predicted
  (for Conv4Rec: expected) rating on a fixed split's test ratings.
* implicit, weak generalization (:func:`evaluate_ranking` with ``known=split.train``): every item
  outside a user's training interactions is ranked against that user's test items.
* implicit, strong generalization (:func:`evaluate_strong`): the held-out users of
  :func:`conv4rec.data.user_fold_in_split`; each is scored from their fold-in part only (the
  model never trained on them) and every item outside the fold-in part is ranked.
* time-aware: the same ranking code on :func:`conv4rec.data.temporal_split` (a global cut at a
  timestamp quantile), restricted to test users and items known at training time.

Ranking metrics use full ranking (no sampled metrics, Krichene & Rendle 2020). Recall@k is
``hits / min(k, |test items|)`` (Liang et al. 2018); NDCG@k has binary gains and the ideal DCG
of ``min(k, |test items|)`` hits; ties are broken by item index, lower first (see
:mod:`conv4rec.metrics`).

Popularity-penalised metrics (Kasalický et al. 2023): each hit on item ``i`` is weighted by
``w_i = pop(i) ** -beta`` with ``pop(i)`` the number of training interactions of ``i`` (at least
1). Our normalisation makes the best achievable value 1: penalised Recall@k divides the weight
of the hits by the largest weight ``min(k, |test items|)`` test items can have; penalised NDCG@k
uses gains ``w_i`` and the ideal DCG of the test items sorted by weight. At ``beta = 0`` both are
exactly the plain metrics.

Paired comparisons (:func:`paired_test`) take per-user (or per-fold) values of two models on
the same units and run a Wilcoxon signed-rank or paired t test (scipy.stats).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.stats
import torch

from conv4rec.data import Interactions, Split
from conv4rec.metrics import _rank_top_k, mae, ranked_metrics, rmse

RatingFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
ScoreFn = Callable[[np.ndarray], torch.Tensor]

__all__ = [
    "RankingResult", "conv4rec_fold_in_scores", "evaluate_explicit", "evaluate_ranking",
    "evaluate_strong", "explicit_breakdown", "explicit_per_user", "known_test", "paired_test",
    "popularity_weights", "ranking_per_user", "summarize",
]


# ------------------------------------------------------------------------------ explicit
def evaluate_explicit(predict_ratings: RatingFn, test: Interactions) -> dict[str, float]:
    """RMSE and MAE of the predicted ratings on the test interactions."""
    predicted = predict_ratings(test.user, test.item)
    return {"rmse": rmse(predicted, test.rating), "mae": mae(predicted, test.rating)}


def explicit_breakdown(predict_ratings: RatingFn, train: Interactions, test: Interactions, *,
                       n_bins: int = 5) -> list[dict]:
    """RMSE of the test ratings grouped by how many training ratings their item (and, in a
    second set of rows, their user) has: where a model loses, rare items or heavy users.

    The groups are quantile bins of the test ratings' counts (``n_bins`` of about equal size;
    tied counts stay in one bin). Each row: ``by`` ("item" or "user"), ``lo`` and ``hi`` (the
    count range, inclusive), ``n`` (test ratings) and ``rmse``.
    """
    err = np.asarray(predict_ratings(test.user, test.item), float) - test.rating
    rows = []
    for by, train_idx, test_idx, size in (("item", train.item, test.item, train.n_items),
                                          ("user", train.user, test.user, train.n_users)):
        counts = np.bincount(train_idx, minlength=size)[test_idx]
        edges = np.unique(np.quantile(counts, np.linspace(0, 1, n_bins + 1)))
        bins = np.searchsorted(edges[1:-1], counts, side="left")
        for b in range(len(edges) - 1):
            sel = bins == b
            if sel.any():
                rows.append({"by": by, "lo": int(counts[sel].min()), "hi": int(counts[sel].max()),
                             "n": int(sel.sum()), "rmse": float(np.sqrt(np.mean(err[sel] ** 2)))})
    return rows


def explicit_per_user(predict_ratings: RatingFn, test: Interactions
                      ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-user squared and absolute errors, the units of a paired explicit comparison.

    Returns
    -------
    users : ndarray, shape (n_test_users,)
        The users with test ratings, sorted.
    per_user : dict
        ``"mse"`` and ``"mae"``: each user's mean squared / absolute error, shape
        (n_test_users,). The overall RMSE is ``sqrt`` of the count-weighted mean of ``mse``.
    """
    predicted = np.asarray(predict_ratings(test.user, test.item), float)
    err = predicted - test.rating
    users, inverse, counts = np.unique(test.user, return_inverse=True, return_counts=True)
    sq = np.bincount(inverse, weights=err ** 2) / counts
    ab = np.bincount(inverse, weights=np.abs(err)) / counts
    return users, {"mse": sq, "mae": ab}


# ------------------------------------------------------------------------------- ranking
def popularity_weights(train: Interactions, beta: float) -> np.ndarray:
    """``pop(i) ** -beta`` per item, ``pop`` the training count clipped below at 1.

    Shape: (n_items,). ``beta = 0`` gives all ones.
    """
    pop = np.maximum(train.counts_per_item(), 1).astype(np.float64)
    return pop ** -float(beta)


@dataclass(frozen=True)
class RankingResult:
    """Per-user ranking metrics: ``values[name][j]`` belongs to ``users[j]``."""

    users: np.ndarray
    values: dict[str, np.ndarray]

    def means(self) -> dict[str, float]:
        return {name: float(np.nanmean(v)) if len(v) else float("nan")
                for name, v in self.values.items()}


def _csr(data: Interactions, shape: tuple[int, int], values: np.ndarray | None = None
         ) -> sp.csr_matrix:
    vals = np.ones(data.n_observed, np.float64) if values is None else values
    return sp.csr_matrix((vals, (data.user, data.item)), shape=shape)


def ranking_per_user(score_items: ScoreFn, known: Interactions, test: Interactions, *,
                     recall_ks: Sequence[int] = (20, 50), ndcg_ks: Sequence[int] = (100,),
                     popularity: np.ndarray | None = None, pop_betas: Sequence[float] = (),
                     batch_size: int = 1024) -> RankingResult:
    """Full-ranking Recall@k and NDCG@k of every user with test items, per user.

    Parameters
    ----------
    score_items : callable
        ``users -> Tensor (len(users), n_items)``, higher is better.
    known : Interactions
        Items that may not be recommended to a user (training or fold-in interactions).
    test : Interactions
        The relevant (held-out) items; same index space as ``known``.
    recall_ks, ndcg_ks : ints
        Cut-offs; metrics are named ``recall@k`` and ``ndcg@k``.
    popularity : ndarray, shape (n_items,), optional
        Item popularity ``pop(i)`` (training counts) for the penalised metrics.
    pop_betas : floats
        For each ``beta``, add ``recall@k_pop{beta}`` and ``ndcg@k_pop{beta}`` with each hit
        weighted by ``max(pop(i), 1) ** -beta`` (module docstring).
    batch_size : int
        Users scored at once.

    Returns
    -------
    RankingResult
    """
    users = np.unique(test.user)
    shape = (known.n_users, known.n_items)
    seen = _csr(known, shape).astype(bool)
    relevant = _csr(test, shape)
    k_max = max([*recall_ks, *ndcg_ks])
    variants: list[tuple[str, np.ndarray | None]] = [("", None)]
    if pop_betas:
        if popularity is None:
            raise ValueError("pop_betas needs the item popularity")
        pop = np.maximum(np.asarray(popularity, np.float64), 1.0)
        variants += [(f"_pop{float(b):g}", pop ** -float(b)) for b in pop_betas]
    out: dict[str, list[np.ndarray]] = {}
    for suffix, _ in variants:
        out.update({f"recall@{k}{suffix}": [] for k in recall_ks})
        out.update({f"ndcg@{k}{suffix}": [] for k in ndcg_ks})
    for b in range(0, len(users), batch_size):
        batch = users[b:b + batch_size]
        exclude = torch.as_tensor(seen[batch].toarray())
        top = _rank_top_k(score_items(batch), k_max, exclude).cpu().numpy()
        for suffix, w in variants:
            metrics = ranked_metrics(top, relevant[batch], recall_ks=recall_ks, ndcg_ks=ndcg_ks,
                                     item_weight=w)
            for name, per_user in metrics.items():
                out[name + suffix].append(per_user)
    values = {name: np.concatenate(v) if v else np.zeros(0) for name, v in out.items()}
    return RankingResult(users=users, values=values)


def evaluate_ranking(score_items: ScoreFn, known: Interactions, test: Interactions, *,
                     recall_ks: tuple[int, ...] = (20, 50), ndcg_ks: tuple[int, ...] = (100,),
                     batch_size: int = 1024, popularity: np.ndarray | None = None,
                     pop_betas: Sequence[float] = ()) -> dict[str, float]:
    """Full-ranking Recall@k and NDCG@k of each user's test items (weak generalization).

    Every item not in the user's ``known`` (training or fold-in) interactions is ranked; the
    known ones are excluded. Recall@k is hits / min(k, |test items|) (Liang et al. 2018).
    Metrics are averaged over the users that have test items. With ``pop_betas`` (and the item
    ``popularity``), the popularity-penalised variants are added (see :func:`ranking_per_user`).
    """
    return ranking_per_user(score_items, known, test, recall_ks=recall_ks, ndcg_ks=ndcg_ks,
                            popularity=popularity, pop_betas=pop_betas,
                            batch_size=batch_size).means()


def known_test(split: Split) -> Interactions:
    """The test interactions whose user and item both have training interactions.

    A model cannot score a user or item it was never told about (weak generalization and the
    time-aware split, where later interactions may bring new users and items).
    """
    has_user = split.train.counts_per_user() > 0
    has_item = split.train.counts_per_item() > 0
    test = split.test
    return test.subset(has_user[test.user] & has_item[test.item])


def evaluate_strong(score_fold_in: Callable[[Interactions, np.ndarray], torch.Tensor],
                    split: Split, **ranking_options) -> RankingResult:
    """Strong generalization: score each held-out user from their fold-in part only.

    Parameters
    ----------
    score_fold_in : callable
        ``(fold_in, users) -> Tensor (len(users), n_items)``: ranking scores of ``users``
        computed from their interactions in ``fold_in`` (the model was not trained on them).
    split : Split
        From :func:`conv4rec.data.user_fold_in_split` (``fold_in`` set).
    ranking_options
        Passed to :func:`ranking_per_user` (cut-offs, popularity, ``pop_betas``).

    Returns
    -------
    RankingResult
        Over the held-out users that have both fold-in and test items.
    """
    if split.fold_in is None:
        raise ValueError(f"split {split.name!r} has no fold-in part: use user_fold_in_split")
    fold_in = split.fold_in
    has_input = fold_in.counts_per_user() > 0
    test = split.test.subset(has_input[split.test.user])
    return ranking_per_user(lambda users: score_fold_in(fold_in, users), fold_in, test,
                            **ranking_options)


@torch.no_grad()
def conv4rec_fold_in_scores(estimator, fold_in: Interactions, users: np.ndarray) -> torch.Tensor:
    """log q_u(i) of users computed from their ``fold_in`` interactions (batched fold-in).

    A thin wrapper over ``Conv4RecEstimator.score_items(users, profiles=fold_in)``: the fold-in
    interactions are the encoder's input, the model is not retrained. Needs the user
    orientation.

    Shape:
        output: (len(users), n_items).
    """
    if estimator.config.orientation != "user":
        raise ValueError("strong generalization needs orientation='user' (in the item "
                         "orientation a user is a column of the network)")
    return estimator.score_items(np.asarray(users, np.int64), profiles=fold_in)


# -------------------------------------------------------------------------- statistics
def paired_test(a: np.ndarray, b: np.ndarray, *, test: str = "wilcoxon") -> dict[str, float]:
    """Paired comparison of two models on the same units (users or folds).

    Parameters
    ----------
    a, b : ndarray, shape (n,)
        Per-unit values of the two models, aligned; pairs with a NaN are dropped.
    test : "wilcoxon" (signed-rank, two-sided; the default for per-user metrics, which are far
        from normal) or "t" (paired t test, e.g. over a handful of folds).

    Returns
    -------
    dict
        ``n``, ``mean_a``, ``mean_b``, ``mean_diff`` (a - b), ``statistic``, ``p_value``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired_test: shapes differ, {a.shape} vs {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    diff = a - b
    if len(diff) < 2 or np.all(diff == 0):
        stat, p = float("nan"), 1.0 if len(diff) else float("nan")
    elif test == "wilcoxon":
        res = scipy.stats.wilcoxon(a, b)
        stat, p = float(res.statistic), float(res.pvalue)
    elif test == "t" and np.ptp(diff) <= 1e-12 * np.abs(diff).max():
        # a constant difference (up to rounding): no spread, the t statistic is infinite
        stat, p = float(np.copysign(np.inf, diff.mean())), 0.0
    elif test == "t":
        res = scipy.stats.ttest_rel(a, b)
        stat, p = float(res.statistic), float(res.pvalue)
    else:
        raise ValueError(f"paired_test: test={test!r}, expected 'wilcoxon' or 't'")
    return {"n": len(diff), "mean_a": float(a.mean()) if len(a) else float("nan"),
            "mean_b": float(b.mean()) if len(b) else float("nan"),
            "mean_diff": float(diff.mean()) if len(diff) else float("nan"),
            "statistic": stat, "p_value": p}


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value) and count of per-fold/seed values."""
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "n": len(v)}
