"""What every baseline shares: a frozen config, the rating clip and the input matrix."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from conv4rec.data import Interactions, per_user_holdout_mask
from conv4rec.seeding import SeedLike


class BaselineConfig:
    """Mixin for the frozen, keyword-only config dataclass of each baseline."""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[arg-type]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {unknown}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        d = {k: tuple(v) if isinstance(v, list) and "tuple" in str(fields[k].type) else v
             for k, v in d.items()}
        return cls(**d)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def short_hash(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def check(cond: bool, owner: str, field: str, value: object, why: str) -> None:
    """Raise ValueError naming ``owner.field`` and the bad value unless ``cond``."""
    if not cond:
        raise ValueError(f"{owner}.{field}={value!r}: {why}")


def binary_matrix(data: Interactions) -> sp.csr_matrix:
    """Users x items 0/1 matrix of who interacted with what (float32)."""
    return sp.csr_matrix((np.ones(data.n_observed, np.float32), (data.user, data.item)),
                         shape=(data.n_users, data.n_items))


def validation_mask(data: Interactions, fraction: float, seq: np.random.SeedSequence
                    ) -> np.ndarray:
    """Per-user holdout for early stopping (same rule as Conv4Rec's ``validation_fraction``)."""
    if fraction <= 0:
        return np.zeros(data.n_observed, bool)
    return per_user_holdout_mask(data, fraction, rng=np.random.default_rng(seq))


class Baseline:
    """A model evaluated by :mod:`conv4rec.evaluation`.

    Subclasses set ``name``, ``config_class``, and which protocols they serve:
    ``explicit`` (``predict_ratings``), ``ranking`` (``score_items`` of training users) and
    ``fold_in`` (``score_items(users, inputs=...)`` of users unseen at training time).
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    explicit: ClassVar[bool] = False
    ranking: ClassVar[bool] = False
    fold_in: ClassVar[bool] = False

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.config_class()

    def fit(self, train: Interactions, *, generator: SeedLike) -> Self:  # pragma: no cover
        raise NotImplementedError

    def _clip(self, ratings: np.ndarray) -> np.ndarray:
        return np.clip(ratings, self.levels_[0], self.levels_[-1])

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{self.name} does not predict ratings")

    def score_items(self, users: np.ndarray, inputs: Interactions | None = None
                    ) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} does not rank items")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"
