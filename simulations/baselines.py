"""Comparison estimators of the joint distribution q_u(i, c), fitted to the same samples.

Each follows the estimator contract of :class:`conv4rec.Conv4RecEstimator` that the
simulations use: a frozen config in, ``fit(data, *, generator) -> self``, and
``predict_log_proba() -> Tensor (n_users, n_items, n_levels)`` whose ``exp`` sums to 1 per user.

* :class:`SmoothedEmpirical`: the user's cell frequencies shrunk towards the population's,
  q_u = (N_u + λ g) / (n_u + λ), λ chosen by exact leave-one-out likelihood.
* :class:`ItemMultVAE`: Mult-VAE (Liang et al. 2018) on the items only, q_u(i) from the VAE and
  the level given the item from the pooled item-level frequencies, q_u(c | i) = p̂(c | i).
* :class:`IndependentModels`: a consumption model and a rating model fitted separately,
  q_u(i) smoothed per-user item frequencies and q_u(c | i) a Gaussian around a biased
  matrix-factorization prediction, discretised on the levels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from conv4rec.baselines.neural import MultVAENetwork
from conv4rec.data import Interactions
from conv4rec.seeding import SeedLike, seed_sequence, torch_generator



class BaselineConfigError(ValueError):
    """A baseline configuration field has a bad value."""


def _check(cond: bool, cls: str, field: str, value: object, why: str) -> None:
    if not cond:
        raise BaselineConfigError(f"{cls}.{field}={value!r}: {why}")


class _Config:
    """to_dict / from_dict / replace for the frozen baseline configs."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})  # type: ignore
        if unknown:
            raise BaselineConfigError(f"{cls.__name__}: unknown field(s) {unknown}")
        return cls(**d)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def cell_counts(data: Interactions) -> np.ndarray:
    """N[u, i, c]: how many times user u drew (i, c). Shape (n_users, n_items, n_levels)."""
    flat = np.bincount((data.user * data.n_items + data.item) * data.n_levels + data.level,
                       minlength=data.n_users * data.n_items * data.n_levels)
    return flat.reshape(data.n_users, data.n_items, data.n_levels).astype(np.float64)


# ------------------------------------------------------------------------ shrinkage helper
def loo_shrinkage(counts: np.ndarray, prior: np.ndarray, grid: np.ndarray) -> float:
    """The λ of the grid that maximises the exact leave-one-out log-likelihood of

        q_u = (N_u + λ g) / (n_u + λ):   Σ_u Σ_k N_uk log((N_uk − 1 + λ g_k) / (n_u − 1 + λ)).

    Shape:
        counts: (n_users, K); prior: (K,) positive, summing to 1; grid: (L,).
    """
    n_u = counts.sum(axis=1)
    rows, cols = np.nonzero(counts)
    n_uk = counts[rows, cols]
    lam = grid[:, None]
    num = np.log(n_uk[None, :] - 1 + lam * prior[None, cols])
    den = np.log(np.maximum(n_u[None, rows] - 1 + lam, 1e-300))
    score = (n_uk[None, :] * (num - den)).sum(axis=1)
    return float(grid[int(np.argmax(score))])


def _population_prior(counts: np.ndarray, pseudo: float) -> np.ndarray:
    """g_k = (Σ_u N_uk + pseudo) / (N + K pseudo): the population frequency, every cell > 0."""
    total = counts.sum(axis=0) + pseudo
    return total / total.sum()


# -------------------------------------------------------------------------------- empirical
@dataclass(frozen=True, kw_only=True)
class EmpiricalConfig(_Config):
    """Smoothed empirical frequencies.

    prior_pseudocount : add-k smoothing of the population frequency g that the users shrink to.
    grid_min, grid_max, grid_size : the log-spaced grid of shrinkage strengths λ searched by
        leave-one-out likelihood.
    """

    prior_pseudocount: float = 1.0
    grid_min: float = 0.1
    grid_max: float = 1e4
    grid_size: int = 41

    def __post_init__(self) -> None:
        name = type(self).__name__
        _check(self.prior_pseudocount > 0, name, "prior_pseudocount", self.prior_pseudocount,
               "expected > 0")
        _check(0 < self.grid_min < self.grid_max, name, "grid_min/grid_max",
               (self.grid_min, self.grid_max), "expected 0 < grid_min < grid_max")
        _check(isinstance(self.grid_size, int) and self.grid_size >= 1, name, "grid_size",
               self.grid_size, "expected an integer >= 1")

    def grid(self) -> np.ndarray:
        return np.geomspace(self.grid_min, self.grid_max, self.grid_size)


class SmoothedEmpirical:
    """q_u(i, c) = (N_u(i, c) + λ g(i, c)) / (n_u + λ), g the population frequency.

    Deterministic: ``generator`` is accepted for the common contract and not used.

    Attributes (after ``fit``): ``shrinkage_`` (λ), ``log_proba_`` (n_users, n_items, n_levels).
    """

    def __init__(self, config: EmpiricalConfig | None = None) -> None:
        self.config = config or EmpiricalConfig()

    def fit(self, data: Interactions, *, generator: SeedLike | None = None) -> Self:
        counts = cell_counts(data)
        flat = counts.reshape(data.n_users, -1)
        prior = _population_prior(flat, self.config.prior_pseudocount)
        self.shrinkage_ = loo_shrinkage(flat, prior, self.config.grid())
        q = (flat + self.shrinkage_ * prior) / (flat.sum(1, keepdims=True) + self.shrinkage_)
        self.log_proba_ = np.log(q).reshape(counts.shape)
        return self

    def predict_log_proba(self) -> torch.Tensor:
        """log q_u(i, c). Shape: (n_users, n_items, n_levels), float64."""
        return torch.from_numpy(self.log_proba_)


# --------------------------------------------------------------------------------- Mult-VAE
@dataclass(frozen=True, kw_only=True)
class MultVAEConfig(_Config):
    """Mult-VAE (Liang et al. 2018, "Variational autoencoders for collaborative filtering") on
    the item counts of each user, with its published recipe: L2-normalised input, input dropout
    0.5, tanh layers [m -> hidden -> latent -> hidden -> m], KL weight annealed linearly to
    ``beta_max`` over ``anneal_steps`` updates, Adam.

    level_pseudocount : add-k smoothing of the pooled item-level frequencies p̂(c | i) towards
        the population level frequencies.
    """

    hidden: int = 100
    latent: int = 32
    dropout: float = 0.5
    beta_max: float = 0.2
    anneal_steps: int = 2000
    epochs: int = 150
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    level_pseudocount: float = 1.0

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in ("hidden", "latent", "anneal_steps", "epochs", "batch_size"):
            value = getattr(self, field)
            _check(isinstance(value, int) and value >= 1, name, field, value,
                   "expected an integer >= 1")
        _check(0 <= self.dropout < 1, name, "dropout", self.dropout, "expected 0 <= value < 1")
        for field in ("beta_max", "weight_decay"):
            _check(getattr(self, field) >= 0, name, field, getattr(self, field), "expected >= 0")
        for field in ("lr", "level_pseudocount"):
            _check(getattr(self, field) > 0, name, field, getattr(self, field), "expected > 0")


class ItemMultVAE:
    """Mult-VAE on items only, with pooled per-item level frequencies for the rating part.

        q_u(i, c) = π_u(i) · p̂(c | i),  p̂(c | i) = (N(i, c) + a p̂(c)) / (N(i) + a),

    π_u the VAE's softmax at the mean code, N(i, c) pooled over users.

    Attributes (after ``fit``): ``net_``, ``log_level_given_item_`` (n_items, n_levels),
    ``history_`` (mean loss per epoch).
    """

    def __init__(self, config: MultVAEConfig | None = None) -> None:
        self.config = config or MultVAEConfig()

    def fit(self, data: Interactions, *, generator: SeedLike) -> Self:
        cfg = self.config
        seed_init, seed_batches, seed_noise = seed_sequence(generator).spawn(3)
        counts = cell_counts(data)
        item_counts = torch.from_numpy(counts.sum(axis=2)).float()        # (n_users, m)
        pooled = counts.sum(axis=0)                                        # (m, C)
        level_prior = (pooled.sum(axis=0) + 1.0) / (pooled.sum() + pooled.shape[1])
        a = cfg.level_pseudocount
        cond = (pooled + a * level_prior) / (pooled.sum(axis=1, keepdims=True) + a)
        self.log_level_given_item_ = np.log(cond)

        self.net_ = MultVAENetwork(data.n_items, cfg.hidden, cfg.latent, cfg.dropout)
        gen_init = torch_generator(seed_init)
        with torch.no_grad():
            for layer in self.net_.layers():
                nn.init.xavier_uniform_(layer.weight, generator=gen_init)
                layer.bias.normal_(0.0, 1e-3, generator=gen_init)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=cfg.lr,
                                     weight_decay=cfg.weight_decay)
        rng = np.random.default_rng(seed_batches)
        noise = torch_generator(seed_noise)
        active = np.flatnonzero(item_counts.sum(1).numpy() > 0)
        self.history_: list[float] = []
        step = 0
        self.net_.train()
        for _ in range(cfg.epochs):
            order = rng.permutation(active)
            total = 0.0
            for b in range(0, len(order), cfg.batch_size):
                x = item_counts[order[b:b + cfg.batch_size]]
                logits, kl = self.net_(x, noise)
                nll = -(torch.log_softmax(logits, dim=1) * x).sum(dim=1)
                beta = cfg.beta_max * min(1.0, step / cfg.anneal_steps)
                loss = (nll + beta * kl).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                total += loss.item() * len(x)
            self.history_.append(total / max(len(active), 1))
        self.net_.eval()
        self._item_counts = item_counts
        return self

    @torch.no_grad()
    def predict_log_proba(self) -> torch.Tensor:
        """log q_u(i, c). Shape: (n_users, n_items, n_levels), float64."""
        logits, _ = self.net_(self._item_counts)
        log_items = torch.log_softmax(logits.double(), dim=1)
        return log_items[:, :, None] + torch.from_numpy(self.log_level_given_item_)[None]


# ------------------------------------------------------------------------------ independent
@dataclass(frozen=True, kw_only=True)
class IndependentConfig(_Config):
    """Separate consumption and rating models.

    Consumption: the user's item frequencies shrunk to the population's (as
    :class:`SmoothedEmpirical`, on items), λ by leave-one-out likelihood.
    Rating: biased matrix factorization r̂_ui = b + b_u + b_i + <p_u, q_i> of rank ``rank``,
    fitted by full-batch Adam on the squared error of every drawn rating with L2 penalty
    ``l2``; then p(c | u, i) ∝ exp(−(v_c − r̂_ui)² / (2 σ²)), σ chosen on a grid by the
    likelihood of the training ratings.
    """

    rank: int = 8
    l2: float = 0.05
    steps: int = 400
    lr: float = 0.05
    init_scale: float = 0.1
    prior_pseudocount: float = 1.0
    grid_min: float = 0.1
    grid_max: float = 1e4
    grid_size: int = 41

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in ("rank", "steps", "grid_size"):
            value = getattr(self, field)
            _check(isinstance(value, int) and value >= 1, name, field, value,
                   "expected an integer >= 1")
        for field in ("lr", "init_scale", "prior_pseudocount"):
            _check(getattr(self, field) > 0, name, field, getattr(self, field), "expected > 0")
        _check(self.l2 >= 0, name, "l2", self.l2, "expected >= 0")
        _check(0 < self.grid_min < self.grid_max, name, "grid_min/grid_max",
               (self.grid_min, self.grid_max), "expected 0 < grid_min < grid_max")


class IndependentModels:
    """q_u(i, c) = q_u(i) · p_u(c | i) from two models fitted independently.

    Attributes (after ``fit``): ``shrinkage_`` (λ of the consumption part), ``sigma_`` (rating
    noise), ``log_consumption_`` (n_users, n_items), ``predicted_mean_`` (n_users, n_items).
    """

    def __init__(self, config: IndependentConfig | None = None) -> None:
        self.config = config or IndependentConfig()

    def fit(self, data: Interactions, *, generator: SeedLike) -> Self:
        cfg = self.config
        counts = cell_counts(data).sum(axis=2)                             # (n_users, m)
        prior = _population_prior(counts, cfg.prior_pseudocount)
        grid = np.geomspace(cfg.grid_min, cfg.grid_max, cfg.grid_size)
        self.shrinkage_ = loo_shrinkage(counts, prior, grid)
        q = (counts + self.shrinkage_ * prior) / (counts.sum(1, keepdims=True) + self.shrinkage_)
        self.log_consumption_ = np.log(q)

        self.levels_ = data.levels
        self.predicted_mean_ = self._fit_ratings(data, seed_sequence(generator))
        cells = cell_counts(data)
        uu, ii, cc = np.nonzero(cells)
        self.sigma_ = self._fit_sigma(self.predicted_mean_[uu, ii], cc, cells[uu, ii, cc])
        return self

    def _fit_ratings(self, data: Interactions, seed: np.random.SeedSequence) -> np.ndarray:
        cfg = self.config
        gen = torch_generator(seed)
        # Repeated draws of one (u, i, c) are one squared error with weight = their count.
        counts = cell_counts(data)
        uu, ii, cc = np.nonzero(counts)
        u, i = torch.as_tensor(uu), torch.as_tensor(ii)
        r = torch.as_tensor(data.levels[cc], dtype=torch.float64)
        w = torch.as_tensor(counts[uu, ii, cc])
        mean = (w * r).sum() / w.sum() if len(r) else torch.tensor(0.0, dtype=torch.float64)
        p = (cfg.init_scale * torch.randn(data.n_users, cfg.rank, generator=gen,
                                          dtype=torch.float64)).requires_grad_()
        qf = (cfg.init_scale * torch.randn(data.n_items, cfg.rank, generator=gen,
                                           dtype=torch.float64)).requires_grad_()
        bu = torch.zeros(data.n_users, dtype=torch.float64, requires_grad=True)
        bi = torch.zeros(data.n_items, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([p, qf, bu, bi], lr=cfg.lr)
        n = max(float(w.sum()), 1.0)
        for _ in range(cfg.steps):
            pred = mean + bu[u] + bi[i] + (p[u] * qf[i]).sum(1)
            loss = (w * (pred - r) ** 2).sum() / n + cfg.l2 * (
                (p ** 2).sum() + (qf ** 2).sum() + (bu ** 2).sum() + (bi ** 2).sum()) / n
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            full = mean + bu[:, None] + bi[None, :] + p @ qf.T
        return full.numpy()

    def _fit_sigma(self, mean: np.ndarray, level: np.ndarray, weight: np.ndarray) -> float:
        """σ on a grid by the discretised-Gaussian likelihood of the training ratings.

        Shape:
            mean (predicted r̂), level (observed level index), weight (count): (n_cells,).
        """
        v = self.levels_
        if len(v) == 1:
            return 1.0
        grid = float(np.min(np.diff(v))) * np.geomspace(0.1, 10.0, 41)
        best, best_ll = float(grid[0]), -np.inf
        for sigma in grid:  # 41 vectorised passes over the observed cells
            logits = -(v[None, :] - mean[:, None]) ** 2 / (2 * sigma ** 2)
            top = logits.max(axis=1, keepdims=True)
            log_cond = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
            ll = float((weight * log_cond[np.arange(len(level)), level]).sum())
            if ll > best_ll:
                best, best_ll = float(sigma), ll
        return best

    def predict_log_proba(self) -> torch.Tensor:
        """log q_u(i, c). Shape: (n_users, n_items, n_levels), float64."""
        v = self.levels_
        logits = -(v[None, None, :] - self.predicted_mean_[..., None]) ** 2 / (2 * self.sigma_ ** 2)
        top = logits.max(axis=2, keepdims=True)
        log_cond = logits - top - np.log(np.exp(logits - top).sum(axis=2, keepdims=True))
        return torch.from_numpy(self.log_consumption_[..., None] + log_cond)


def _check_name(name: str) -> None:
    if name not in BASELINES:
        raise BaselineConfigError(f"unknown baseline {name!r}; known: {sorted(BASELINES)}")


#: The comparison estimators by name: (estimator class, config class).
BASELINES: dict[str, tuple[type, type]] = {
    "empirical": (SmoothedEmpirical, EmpiricalConfig),
    "multvae": (ItemMultVAE, MultVAEConfig),
    "independent": (IndependentModels, IndependentConfig),
}


def make_baseline(name: str, config: Any = None):
    """A comparison estimator by name, with its config (the default when None)."""
    _check_name(name)
    cls, config_cls = BASELINES[name]
    return cls(config if config is not None else config_cls())


__all__ = [
    "BASELINES", "EmpiricalConfig", "IndependentConfig", "IndependentModels", "ItemMultVAE",
    "MultVAEConfig", "SmoothedEmpirical", "cell_counts", "loo_shrinkage", "make_baseline",
]
