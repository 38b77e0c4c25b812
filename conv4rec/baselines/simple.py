"""Non-learned and closed-form baselines: global mean, user + item bias, popularity, EASE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.linalg
import torch

from conv4rec.baselines._base import Baseline, BaselineConfig, binary_matrix, check
from conv4rec.data import Interactions
from conv4rec.seeding import SeedLike


@dataclass(frozen=True, kw_only=True)
class EmptyConfig(BaselineConfig):
    """No hyper-parameters."""


class GlobalMean(Baseline):
    """Predicts the mean training rating for every pair."""

    name = "global_mean"
    config_class = EmptyConfig
    explicit = True

    def fit(self, train: Interactions, *, generator: SeedLike = 0) -> Self:
        self.levels_ = train.levels
        self.mean_ = float(train.rating.mean())
        return self

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean_)


@dataclass(frozen=True, kw_only=True)
class BiasConfig(BaselineConfig):
    """r_ui ~ mu + b_u + b_i, ridge penalties ``reg_user`` / ``reg_item`` (Koren 2010 §2.1)."""

    reg_user: float = 5.0
    reg_item: float = 5.0
    n_iter: int = 10

    def __post_init__(self) -> None:
        for f in ("reg_user", "reg_item"):
            check(getattr(self, f) >= 0, "BiasConfig", f, getattr(self, f), "expected >= 0")
        check(self.n_iter >= 1, "BiasConfig", "n_iter", self.n_iter, "expected >= 1")


class UserItemBias(Baseline):
    """User + item bias, fitted by alternating exact ridge updates (vectorised bincounts)."""

    name = "user_item_bias"
    config_class = BiasConfig
    explicit = True

    def fit(self, train: Interactions, *, generator: SeedLike = 0) -> Self:
        cfg = self.config
        self.levels_ = train.levels
        r = train.rating
        self.mean_ = float(r.mean())
        n_u = np.bincount(train.user, minlength=train.n_users)
        n_i = np.bincount(train.item, minlength=train.n_items)
        b_u, b_i = np.zeros(train.n_users), np.zeros(train.n_items)
        for _ in range(cfg.n_iter):
            b_i = np.bincount(train.item, r - self.mean_ - b_u[train.user],
                              minlength=train.n_items) / (n_i + cfg.reg_item)
            b_u = np.bincount(train.user, r - self.mean_ - b_i[train.item],
                              minlength=train.n_users) / (n_u + cfg.reg_user)
        self.user_bias_, self.item_bias_ = b_u, b_i
        return self

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._clip(self.mean_ + self.user_bias_[users] + self.item_bias_[items])


class ItemPopularity(Baseline):
    """Ranks items by their number of training interactions, the same list for every user."""

    name = "popularity"
    config_class = EmptyConfig
    ranking = True
    fold_in = True

    def fit(self, train: Interactions, *, generator: SeedLike = 0) -> Self:
        self.levels_ = train.levels
        self.counts_ = torch.as_tensor(train.counts_per_item(), dtype=torch.float32)
        return self

    def score_items(self, users: np.ndarray, inputs: Interactions | None = None
                    ) -> torch.Tensor:
        return self.counts_.expand(len(users), -1).clone()


@dataclass(frozen=True, kw_only=True)
class EASEConfig(BaselineConfig):
    """``l2``: the ridge penalty lambda of Steck (2019)."""

    l2: float = 500.0

    def __post_init__(self) -> None:
        check(self.l2 > 0, "EASEConfig", "l2", self.l2, "expected > 0")


class EASE(Baseline):
    """EASE (Steck 2019): B = I - P diag(1 / diag P), P = (X^T X + lambda I)^-1, diag B = 0.

    Scores of a user are x_u B, so a new user is scored from any input row (fold-in).
    """

    name = "ease"
    config_class = EASEConfig
    ranking = True
    fold_in = True

    def fit(self, train: Interactions, *, generator: SeedLike = 0) -> Self:
        self.levels_ = train.levels
        x = binary_matrix(train)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.config.l2
        p = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.weights_ = torch.as_tensor(b, dtype=torch.float32)
        self.train_ = x
        return self

    def score_items(self, users: np.ndarray, inputs: Interactions | None = None
                    ) -> torch.Tensor:
        x = self.train_ if inputs is None else binary_matrix(inputs)
        rows = torch.as_tensor(x[np.asarray(users)].toarray())
        return rows @ self.weights_
