"""The interaction dataset type: sparse (user, item, level) triples on any rating scale."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


class DataError(ValueError):
    """Bad input data. The message is one line naming the file, line/field and value."""


@dataclass(frozen=True, eq=False, kw_only=True)
class Interactions:
    """Observed interactions (u, i, c) of ``n_users`` users with ``n_items`` items.

    Attributes
    ----------
    user, item : ndarray of int64, shape (n_observed,)
        Row indices in ``[0, n_users)`` and ``[0, n_items)``.
    level : ndarray of int64, shape (n_observed,)
        Index into ``levels`` of each interaction's rating value.
    levels : ndarray of float64, shape (n_levels,)
        The sorted distinct rating values v_1 < ... < v_C of the dataset's scale.
        Implicit-only data has one level.
    user_ids, item_ids : ndarray, shape (n_users,) / (n_items,)
        Raw id of each index (index -> raw id). Every split of one dataset shares them.
    timestamp : ndarray of int64, shape (n_observed,), optional
    source : str
        Where the data came from (a file path or a name), used in error messages.
    """

    user: np.ndarray
    item: np.ndarray
    level: np.ndarray
    levels: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamp: np.ndarray | None = None
    source: str = "<memory>"
    _user_index: dict = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for name in ("user", "item", "level"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        object.__setattr__(self, "levels", np.asarray(self.levels, dtype=np.float64))
        object.__setattr__(self, "user_ids", np.asarray(self.user_ids))
        object.__setattr__(self, "item_ids", np.asarray(self.item_ids))
        n = len(self.user)
        if len(self.item) != n or len(self.level) != n:
            raise DataError(f"{self.source}: user, item and level arrays differ in length")
        if self.timestamp is not None:
            ts = np.asarray(self.timestamp, dtype=np.int64)
            if len(ts) != n:
                raise DataError(f"{self.source}: timestamp array differs in length")
            object.__setattr__(self, "timestamp", ts)
        if len(self.levels) == 0:
            raise DataError(f"{self.source}: levels is empty")
        if np.any(np.diff(self.levels) <= 0) or not np.all(np.isfinite(self.levels)):
            raise DataError(f"{self.source}: levels must be finite and strictly increasing, "
                            f"got {self.levels.tolist()}")
        for name, bound in (("user", self.n_users), ("item", self.n_items), ("level", self.n_levels)):
            arr = getattr(self, name)
            if n and (arr.min() < 0 or arr.max() >= bound):
                bad = arr[(arr < 0) | (arr >= bound)][0]
                raise DataError(f"{self.source}: {name} index {bad} outside [0, {bound})")

    # ------------------------------------------------------------------ sizes
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_observed(self) -> int:
        return len(self.user)

    @property
    def rating(self) -> np.ndarray:
        """The rating value of each interaction, shape (n_observed,)."""
        return self.levels[self.level]

    def __len__(self) -> int:
        return self.n_observed

    def __repr__(self) -> str:
        return (f"Interactions(source={self.source!r}, n_users={self.n_users}, "
                f"n_items={self.n_items}, n_observed={self.n_observed}, "
                f"levels={self.levels.tolist()})")

    # ------------------------------------------------------------- derived
    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """The interactions selected by a boolean mask or an index array; same id maps."""
        sel = np.asarray(mask_or_index)
        return Interactions(
            user=self.user[sel], item=self.item[sel], level=self.level[sel],
            levels=self.levels, user_ids=self.user_ids, item_ids=self.item_ids,
            timestamp=None if self.timestamp is None else self.timestamp[sel],
            source=self.source,
        )

    def transpose(self) -> Interactions:
        """Swap the roles of users and items (the item-based orientation)."""
        return Interactions(
            user=self.item, item=self.user, level=self.level, levels=self.levels,
            user_ids=self.item_ids, item_ids=self.user_ids, timestamp=self.timestamp,
            source=self.source,
        )

    def to_csr(self) -> sp.csr_matrix:
        """Users x (items * n_levels) 0/1 matrix, column ``item * n_levels + level``.

        This is vec(X_u) of SPEC §1 in item-major order, one row per user.
        """
        cols = self.item * self.n_levels + self.level
        data = np.ones(self.n_observed, dtype=np.float32)
        return sp.csr_matrix((data, (self.user, cols)),
                             shape=(self.n_users, self.n_items * self.n_levels))

    def rating_matrix(self) -> sp.csr_matrix:
        """Users x items matrix of rating values (0 where unobserved)."""
        return sp.csr_matrix((self.rating, (self.user, self.item)),
                             shape=(self.n_users, self.n_items))

    def counts_per_user(self) -> np.ndarray:
        """Number of interactions of each user, shape (n_users,)."""
        return np.bincount(self.user, minlength=self.n_users)

    def counts_per_item(self) -> np.ndarray:
        """Number of interactions of each item, shape (n_items,)."""
        return np.bincount(self.item, minlength=self.n_items)

    def user_index(self, raw_id: object) -> int:
        """Index of a raw user id; raises DataError naming the id when it is unknown."""
        if self._user_index is None:
            object.__setattr__(self, "_user_index",
                               {str(u): k for k, u in enumerate(self.user_ids.tolist())})
        key = str(raw_id)
        if key not in self._user_index:
            raise DataError(f"{self.source}: unknown user id {raw_id!r}")
        return self._user_index[key]

    def fingerprint(self) -> str:
        """A short SHA-256 of the triples, levels and sizes: identifies the training data."""
        h = hashlib.sha256()
        order = np.lexsort((self.level, self.item, self.user))
        for arr in (self.user[order], self.item[order], self.level[order], self.levels):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(f"{self.n_users},{self.n_items}".encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class Split:
    """A train/test split of one dataset; both parts share the id maps and levels.

    ``test`` of a strong-generalization split holds the held-out users' target part, and
    ``fold_in`` their 80 % input part (SPEC §5); for other splits ``fold_in`` is None.
    """

    train: Interactions
    test: Interactions
    name: str = "split"
    fold_in: Interactions | None = None
