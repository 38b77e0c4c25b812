"""Exact distances between a truth P and a model q (SPEC §6): nothing here samples.

Every function takes log-probabilities of shape (n_users, n_items, n_levels) in float64 (or
anything :func:`as_log_proba` accepts) and is vectorised over users. Conventions:

* TV(p, q) = ½ ‖p − q‖₁ (so 0 <= TV <= 1), KL(p ‖ q) = Σ p log(p / q) with 0 log 0 = 0;
* users are weighted equally (μ is uniform over the truth's users), so E_u is a plain mean;
* R(q) = E_u Σ_{i,c} P_u(i,c) (−log q_u(i,c)) is the population log-risk of q given each user's
  training input (the value a test split of fresh draws estimates), and R(P) = E_u H(P_u).

The chain checked by every run: R(q) − R(P) = E_u KL(P_u ‖ q_u) >= 2 E_u TV² >= 2 (E_u TV)².
"""

from __future__ import annotations

import math

import numpy as np
import torch

from conv4rec.loss import mixed_log_prob


def as_log_proba(log_q: np.ndarray | torch.Tensor) -> np.ndarray:
    """float64 log-probabilities renormalised over (item, level) per user.

    A float32 model output is promoted and renormalised in float64, so that ``exp`` sums to 1
    to float64 precision (the correction is of the order of the float32 rounding, ~1e-7).

    Shape:
        (n_users, n_items, n_levels) -> same.
    """
    arr = log_q.detach().cpu().double().numpy() if isinstance(log_q, torch.Tensor) else \
        np.asarray(log_q, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"expected log-probabilities of shape (n_users, n_items, n_levels), "
                         f"got {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    top = flat.max(axis=1, keepdims=True)
    log_z = top + np.log(np.exp(flat - top).sum(axis=1, keepdims=True))
    return (flat - log_z).reshape(arr.shape)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """TV = ½ Σ |p − q| over the last axis.

    Shape:
        p, q: (..., K) probabilities; output: (...).
    """
    return 0.5 * np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64)).sum(axis=-1)


def tv_per_user(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """TV(P_u, q_u) over the joint (item, level) cells. Shape: (n_users,)."""
    return total_variation(np.exp(_flat(log_p)), np.exp(_flat(log_q)))


def _plogp_ratio(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """p (log p − log q) elementwise, 0 where p = 0 (log p = −inf)."""
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        out = p * (log_p - log_q)
    return np.where(p > 0, out, 0.0)


def kl_per_user(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """KL(P_u ‖ q_u) = Σ_{i,c} P log(P / q). Shape: (n_users,)."""
    return _plogp_ratio(_flat(log_p), _flat(log_q)).sum(axis=1)


def entropy_per_user(log_p: np.ndarray) -> np.ndarray:
    """H(P_u) = −Σ P log P. Shape: (n_users,)."""
    return -_plogp_ratio(_flat(log_p), np.zeros_like(_flat(log_p))).sum(axis=1)


def cross_entropy_per_user(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """E_{(i,c)~P_u}[−log q_u(i,c)] = Σ P (−log q), 0 where P = 0. Shape: (n_users,)."""
    p = np.exp(_flat(log_p))
    return np.where(p > 0, -p * _flat(log_q), 0.0).sum(axis=1)


def mixed(log_q: np.ndarray, eta: float) -> np.ndarray:
    """log((1 − η) q + η / (C m)): the bounded loss's mixture of SPEC §3 (the one the estimator
    uses, :func:`conv4rec.loss.mixed_log_prob`, in float64)."""
    return mixed_log_prob(torch.from_numpy(np.asarray(log_q, np.float64)), eta).numpy()


def rating_tv_per_user(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """Σ_i P_u(i) TV(P_u(· | i), q_u(· | i)): the TV of the rating distributions of the items
    the user consumes, weighted by how often the user consumes them. Shape: (n_users,)."""
    log_pi, log_qi = _logsumexp(log_p, -1), _logsumexp(log_q, -1)
    with np.errstate(invalid="ignore"):  # an item of probability 0 has weight 0
        cond_p = np.nan_to_num(np.exp(log_p - log_pi[..., None]))
        cond_q = np.nan_to_num(np.exp(log_q - log_qi[..., None]))
    return (np.exp(log_pi) * total_variation(cond_p, cond_q)).sum(axis=1)


def consumption_tv_per_user(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """TV(P_u(i), q_u(i)) of the item marginals (consumption). Shape: (n_users,)."""
    return total_variation(np.exp(_logsumexp(log_p, -1)), np.exp(_logsumexp(log_q, -1)))


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def precision_at_k(true_items: np.ndarray, predicted_items: np.ndarray) -> float:
    """Mean over users of |predicted ∩ true| / k (k = the number of predicted items per user).

    Shape:
        true_items: (n_users, k_true); predicted_items: (n_users, k).
    """
    true_items, predicted_items = np.asarray(true_items), np.asarray(predicted_items)
    hits = (predicted_items[:, :, None] == true_items[:, None, :]).any(axis=2)
    return float(hits.mean()) if hits.size else float("nan")


def distribution_metrics(log_p: np.ndarray, log_q: np.ndarray, *, eta: float) -> dict[str, float]:
    """Every exact metric of SPEC §6 between truth and model, averaged over users.

    Returns
    -------
    dict with
        tv : E_u TV(P_u, q_u);  tv_sq : E_u TV²;
        kl : E_u KL(P_u ‖ q_u);
        entropy : R(P) = E_u H(P_u);  cross_entropy : R(q);
        excess_risk : R(q) − R(P) (computed as that difference, independently of ``kl``);
        pinsker_bound : sqrt(excess_risk / 2) (>= tv);  pinsker_ratio : tv / pinsker_bound;
        pinsker_ratio_per_user : E_u [TV_u / sqrt(KL_u / 2)] (1 would be Pinsker-tight);
        rating_tv : E_u Σ_i P_u(i) TV(P_u(·|i), q_u(·|i));  consumption_tv : TV of the item
        marginals;  risk_eta : R_η(q), the population risk under the bounded loss ℓ_η;
        tv_eta : E_u TV(P_u, q_η,u) of the mixed model (<= tv + η).
    """
    log_p, log_q = as_log_proba(log_p), as_log_proba(log_q)
    tv = tv_per_user(log_p, log_q)
    kl = kl_per_user(log_p, log_q)
    ent = entropy_per_user(log_p)
    ce = cross_entropy_per_user(log_p, log_q)
    log_q_eta = mixed(log_q, eta)
    excess = float(ce.mean() - ent.mean())
    pinsker = math.sqrt(max(excess, 0.0) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_user_ratio = np.where(kl > 0, tv / np.sqrt(np.maximum(kl, 0) / 2), 1.0)
    return {
        "tv": float(tv.mean()),
        "tv_sq": float((tv ** 2).mean()),
        "kl": float(kl.mean()),
        "entropy": float(ent.mean()),
        "cross_entropy": float(ce.mean()),
        "excess_risk": excess,
        "pinsker_bound": pinsker,
        "pinsker_ratio": float(tv.mean() / pinsker) if pinsker > 0 else 1.0,
        "pinsker_ratio_per_user": float(per_user_ratio.mean()),
        "rating_tv": float(rating_tv_per_user(log_p, log_q).mean()),
        "consumption_tv": float(consumption_tv_per_user(log_p, log_q).mean()),
        "risk_eta": float(cross_entropy_per_user(log_p, log_q_eta).mean()),
        "tv_eta": float(tv_per_user(log_p, log_q_eta).mean()),
    }


def certificate(*, train_risk_eta: float, entropy: float, generalization: float,
                eta: float) -> float:
    """The TV certificate of SPEC §6:

        E_u TV(P_u, q̂_u) <= sqrt( (R̂_η(q̂) − R(P) + G_n(δ)) / 2 ) + η,

    with R̂_η the empirical risk under ℓ_η, R(P) the mean entropy and G_n(δ) a generalization
    bound (R_η(q̂) <= R̂_η(q̂) + G_n(δ) with probability >= 1 − δ). Since R_η(q̂) >= R(P)
    whenever the bound holds, a negative radicand means the bound failed; it is clipped at 0.
    """
    return math.sqrt(max(train_risk_eta - entropy + generalization, 0.0) / 2) + eta


def chain_violation(m: dict[str, float], *, rtol: float = 1e-9) -> list[str]:
    """Which links of R(q) − R(P) = E KL >= 2 E TV² >= 2 (E TV)² fail in ``m`` (a
    :func:`distribution_metrics` dict), up to float error ``rtol`` relative to the KL."""
    tol = rtol * max(1.0, abs(m["kl"]), abs(m["cross_entropy"]))
    bad = []
    if abs(m["excess_risk"] - m["kl"]) > tol:
        bad.append(f"excess_risk {m['excess_risk']!r} != E KL {m['kl']!r}")
    if m["kl"] < 2 * m["tv_sq"] - tol:
        bad.append(f"E KL {m['kl']!r} < 2 E TV^2 {2 * m['tv_sq']!r}")
    if m["tv_sq"] < m["tv"] ** 2 - tol:
        bad.append(f"E TV^2 {m['tv_sq']!r} < (E TV)^2 {m['tv'] ** 2!r}")
    if m["tv"] > m["pinsker_bound"] + tol:
        bad.append(f"E TV {m['tv']!r} > Pinsker bound {m['pinsker_bound']!r}")
    return bad
