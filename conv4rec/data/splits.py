"""Train/test splits of :class:`Interactions` (SPEC §5), all vectorised over users.

- :func:`fixed_split`: a published split given as one label per interaction.
- :func:`random_split`: a seeded per-interaction split (weak generalization).
- :func:`user_fold_in_split`: strong generalization (Liang et al. 2018): held-out users never
  appear in train; 80 % of each one's interactions are folded in, 20 % are scored.
- :func:`temporal_split`: a global cut at a timestamp quantile (time-aware evaluation).
- :func:`per_user_holdout_mask`: a random part of each user's interactions (validation,
  masked training), never all of them.

Every random choice takes an explicit seed or :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import numbers

import numpy as np

from conv4rec.data.interactions import DataError, Interactions, Split

__all__ = ["fixed_split", "per_user_holdout_mask", "random_split", "temporal_split",
           "user_fold_in_split"]

SeedLike = int | np.random.Generator | np.random.SeedSequence


def _check_fraction(name: str, value: float, *, low_inclusive: bool = False) -> float:
    value = float(value)
    ok = (0.0 <= value < 1.0) if low_inclusive else (0.0 < value < 1.0)
    if not ok:
        interval = "[0, 1)" if low_inclusive else "(0, 1)"
        raise ValueError(f"{name}={value!r}: expected a fraction in {interval}")
    return value


def _split(data: Interactions, test_mask: np.ndarray, name: str) -> Split:
    if test_mask.all() or not test_mask.any():
        part = "train" if test_mask.all() else "test"
        raise DataError(f"{data.source}: split {name!r} leaves the {part} part empty")
    return Split(train=data.subset(~test_mask), test=data.subset(test_mask), name=name)


def _take_per_user(user: np.ndarray, n_take: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask marking ``n_take[u]`` uniformly random interactions of each user ``u``.

    Sort by (user, random key); an interaction is taken when its rank within its user is
    below that user's quota. O(n log n), no loop over users.
    """
    n_users = len(n_take)
    counts = np.bincount(user, minlength=n_users)
    order = np.lexsort((rng.random(len(user)), user))
    starts = np.cumsum(counts) - counts
    sorted_user = user[order]
    rank = np.arange(len(user)) - starts[sorted_user]
    mask = np.zeros(len(user), dtype=bool)
    mask[order] = rank < n_take[sorted_user]
    return mask


def fixed_split(data: Interactions, labels: np.ndarray, *, train: str = "train",
                test: str = "test", name: str = "fixed") -> Split:
    """The split given by one label per interaction (the benchmark's published split).

    Parameters
    ----------
    data : Interactions
    labels : array_like of str, shape (n_observed,)
        ``train`` or ``test`` for each row of ``data``.
    train, test : str
        The two label values.
    name : str
        Name of the split.

    Returns
    -------
    Split
        Both parts share ``data``'s id maps and levels.

    Raises
    ------
    DataError
        A label that is neither value (naming the row and the label), a length mismatch,
        or an empty part.
    """
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != data.n_observed:
        raise DataError(f"{data.source}: {len(labels)} split labels for "
                        f"{data.n_observed} interactions")
    is_train, is_test = labels == train, labels == test
    other = ~(is_train | is_test)
    if other.any():
        k = int(np.flatnonzero(other)[0])
        raise DataError(f"{data.source}, row {k}: split label {str(labels[k])!r} is neither "
                        f"{train!r} nor {test!r}")
    return _split(data, is_test, name)


def random_split(data: Interactions, *, test_fraction: float = 0.1, seed: SeedLike,
                 name: str | None = None) -> Split:
    """A seeded per-interaction split: exactly ``round(test_fraction * n)`` test interactions.

    Parameters
    ----------
    data : Interactions
    test_fraction : float in (0, 1)
    seed : int, numpy Generator or SeedSequence
        Same seed, same split.
    name : str, optional
        Default ``"random-<seed>"`` for an int seed, else ``"random"``.

    Returns
    -------
    Split
    """
    f = _check_fraction("test_fraction", test_fraction)
    if name is None:
        name = f"random-{seed}" if isinstance(seed, numbers.Integral) else "random"
    n = data.n_observed
    if n < 2:
        raise DataError(f"{data.source}: a random split needs at least 2 interactions, got {n}")
    n_test = min(max(int(np.floor(f * n + 0.5)), 1), n - 1)
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(n, dtype=bool)
    test_mask[rng.permutation(n)[:n_test]] = True
    return _split(data, test_mask, name)


def user_fold_in_split(data: Interactions, *, heldout_users: float, seed: SeedLike,
                       fold_in_fraction: float = 0.8, min_interactions: int = 5,
                       drop_unseen_items: bool = True, name: str | None = None) -> Split:
    """Strong-generalization split (Liang et al. 2018, the Mult-VAE protocol).

    A random set of users with at least ``min_interactions`` interactions is held out.
    ``train`` holds every other user's interactions only; for each held-out user,
    ``fold_in`` holds about ``fold_in_fraction`` of them (the input at test time) and ``test``
    the rest (the target), each part with at least one interaction.

    Parameters
    ----------
    data : Interactions
    heldout_users : int or float
        Number of held-out users (int >= 1), or a fraction in (0, 1) of the eligible users.
    seed : int, numpy Generator or SeedSequence
    fold_in_fraction : float in (0, 1)
        Per held-out user: ``n_test = round((1 - fold_in_fraction) * n_u)``, clipped to
        ``[1, n_u - 1]``.
    min_interactions : int
        Users with fewer interactions are never held out (they stay in train). At least 2.
    drop_unseen_items : bool
        Drop fold-in/test interactions with items absent from train, as Liang et al. do
        (a model cannot have learned such an item). A held-out user may then lose a part.
    name : str, optional
        Default ``"strong-<seed>"`` for an int seed, else ``"strong"``.

    Returns
    -------
    Split
        With ``fold_in`` set; ``train`` never contains a held-out user.
    """
    fold_in_fraction = _check_fraction("fold_in_fraction", fold_in_fraction)
    if int(min_interactions) < 2:
        raise ValueError(f"min_interactions={min_interactions!r}: expected at least 2")
    if name is None:
        name = f"strong-{seed}" if isinstance(seed, numbers.Integral) else "strong"
    counts = data.counts_per_user()
    eligible = np.flatnonzero(counts >= int(min_interactions))
    n_active = int(np.count_nonzero(counts))
    if isinstance(heldout_users, bool) or not isinstance(heldout_users, numbers.Real):
        raise TypeError(f"heldout_users={heldout_users!r}: expected an int or a fraction")
    if isinstance(heldout_users, numbers.Integral):
        n_held = int(heldout_users)
    else:
        frac = _check_fraction("heldout_users", heldout_users)
        n_held = max(1, int(np.floor(frac * len(eligible) + 0.5)))
    if not 1 <= n_held <= len(eligible) or n_held >= n_active:
        raise DataError(f"{data.source}: cannot hold out {n_held} users: {len(eligible)} have "
                        f">= {min_interactions} interactions and {n_active} have any "
                        f"(train must keep at least one)")

    rng = np.random.default_rng(seed)
    is_held = np.zeros(data.n_users, dtype=bool)
    is_held[rng.choice(eligible, size=n_held, replace=False)] = True
    row_held = is_held[data.user]
    train = data.subset(~row_held)

    n_test = np.floor((1.0 - fold_in_fraction) * counts + 0.5).astype(np.int64)
    n_test = np.clip(n_test, 1, np.maximum(counts - 1, 1))
    held_rows = np.flatnonzero(row_held)
    test_of_held = _take_per_user(data.user[held_rows], np.where(is_held, n_test, 0), rng)
    fold_in_rows, test_rows = held_rows[~test_of_held], held_rows[test_of_held]
    if drop_unseen_items:
        seen = train.counts_per_item() > 0
        fold_in_rows = fold_in_rows[seen[data.item[fold_in_rows]]]
        test_rows = test_rows[seen[data.item[test_rows]]]
    return Split(train=train, test=data.subset(test_rows), fold_in=data.subset(fold_in_rows),
                 name=name)


def temporal_split(data: Interactions, *, quantile: float = 0.8,
                   name: str = "temporal") -> Split:
    """A global time cut: train is every interaction at or before the ``quantile`` of the
    timestamps, test every later one (time-aware evaluation, SPEC §5).

    Parameters
    ----------
    data : Interactions
        Must have timestamps.
    quantile : float in (0, 1)
    name : str

    Returns
    -------
    Split

    Raises
    ------
    DataError
        When ``data`` has no timestamps, or all timestamps fall on one side of the cut.
    """
    quantile = _check_fraction("quantile", quantile)
    if data.timestamp is None:
        raise DataError(f"{data.source}: a temporal split needs timestamps, and this data "
                        f"has none")
    cut = np.quantile(data.timestamp, quantile)
    return _split(data, data.timestamp > cut, name)


def per_user_holdout_mask(data: Interactions, fraction: float, *,
                          rng: np.random.Generator | int) -> np.ndarray:
    """Mark about ``fraction`` of each user's interactions as held out, never all of them.

    User ``u`` with ``n_u`` interactions gets ``floor(fraction * n_u + U_u)`` held out
    (``U_u`` uniform on [0, 1): stochastic rounding, so the expected count is exactly
    ``fraction * n_u`` even for users with few interactions), capped at ``n_u - 1``; which
    interactions is uniform at random. A user with one interaction keeps it.

    Parameters
    ----------
    data : Interactions
    fraction : float in [0, 1)
    rng : numpy Generator (or an int seed)

    Returns
    -------
    ndarray of bool, shape (n_observed,)
        True where the interaction is held out.
    """
    fraction = _check_fraction("fraction", fraction, low_inclusive=True)
    rng = np.random.default_rng(rng)
    counts = data.counts_per_user()
    if fraction == 0.0 or data.n_observed == 0:
        return np.zeros(data.n_observed, dtype=bool)
    n_take = np.floor(fraction * counts + rng.random(data.n_users)).astype(np.int64)
    n_take = np.clip(n_take, 0, np.maximum(counts - 1, 0))
    return _take_per_user(data.user, n_take, rng)
