"""Ground truths: named, registered configurations with an exact sampling distribution P_u(i, c).

A truth is a frozen, keyword-only config (what determines it, including the seed of its
parameters) and a :class:`Truth` built from it, which holds the exact joint distribution

    P[u, i, c] = P_u(i, c),   shape (n_users, n_items, n_levels), float64, summing to 1 per user,

samples interactions from it with an explicit generator and knows its hidden gems (SPEC §4, §8).

Parameters are drawn from independent streams spawned from the truth's ``seed``: one stream per
item array and one per user array, so that the items do not depend on ``n_users`` and the first
k users of a truth with more users are the same k users (a sweep over ``n_users`` grows one
population rather than redrawing it).

Sampling (:meth:`Truth.sample`): each user's ``n_per_user`` interactions are i.i.d. draws from
P_u over the n_items * n_levels cells, with replacement, as the theory of SPEC §6 assumes. A cell
drawn k times is k interactions (see docs/simulations.md, "Repeated draws").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import torch

from conv4rec.data import Interactions
from conv4rec.predict import hidden_gems as _rank_hidden_gems


class TruthError(ValueError):
    """A truth configuration field has a bad value, or a truth name is unknown."""


def _check(cond: bool, cls: str, field: str, value: object, why: str) -> None:
    if not cond:
        raise TruthError(f"{cls}.{field}={value!r}: {why}")


# ----------------------------------------------------------------------------- configurations
@dataclass(frozen=True, kw_only=True)
class TruthConfig:
    """Fields common to every truth.

    n_users, n_items : sizes.
    levels : the rating scale v_1 < ... < v_C (any values; C = 1 is implicit-only data).
    seed : root seed of the truth's parameters (not of the samples: those take a generator).
    """

    kind: ClassVar[str] = ""

    n_users: int = 200
    n_items: int = 100
    levels: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
    seed: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "levels", tuple(float(v) for v in self.levels))
        for field in ("n_users", "n_items"):
            value = getattr(self, field)
            _check(isinstance(value, int) and value >= 1, name, field, value,
                   "expected an integer >= 1")
        _check(self.n_items >= 2, name, "n_items", self.n_items, "expected >= 2")
        lv = np.asarray(self.levels)
        _check(len(lv) >= 1 and bool(np.all(np.isfinite(lv))) and bool(np.all(np.diff(lv) > 0)),
               name, "levels", self.levels, "expected finite, strictly increasing values")
        _check(isinstance(self.seed, int) and self.seed >= 0, name, "seed", self.seed,
               "expected an integer >= 0")

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, **dataclasses.asdict(self)}
        d["levels"] = list(self.levels)
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TruthConfig:
        """Rebuild any registered truth config from its ``to_dict`` form (dispatch on ``kind``)."""
        d = dict(d)
        kind = d.pop("kind", None)
        if kind not in TRUTH_KINDS:
            raise TruthError(f"truth kind {kind!r} is unknown; known: {sorted(TRUTH_KINDS)}")
        cls = TRUTH_KINDS[kind]
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TruthError(f"{cls.__name__}: unknown field(s) {unknown}")
        if "levels" in d:
            d["levels"] = tuple(d["levels"])
        return cls(**d)

    def build(self) -> Truth:
        """The truth with its exact distribution."""
        log_p = self._log_prob(np.random.SeedSequence(self.seed))
        return Truth(self, log_p)

    def _log_prob(self, seed: np.random.SeedSequence) -> np.ndarray:
        raise NotImplementedError

    # helpers shared by the kinds ------------------------------------------------------
    def _level_z(self) -> np.ndarray:
        """Levels mapped to [-1, 1] (0 for a single level)."""
        v = np.asarray(self.levels)
        half = (v[-1] - v[0]) / 2
        return (v - (v[0] + v[-1]) / 2) / half if half > 0 else np.zeros_like(v)


def _half_range(levels: np.ndarray) -> float:
    """(v_C − v_1) / 2, the unit of κ and τ (1 for a single level)."""
    half = (levels[-1] - levels[0]) / 2
    return float(half) if half > 0 else 1.0


def _zipf_log_popularity(n_items: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """log pop_i with pop_i = rank_i^(-exponent), ranks a random permutation of 1..n_items (so
    an item's index says nothing about its popularity)."""
    ranks = rng.permutation(n_items) + 1
    return -exponent * np.log(ranks)


def _normalise_log(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last two axes (item, level) of (n_users, m, C) logits, float64."""
    flat = logits.reshape(logits.shape[0], -1)
    top = flat.max(axis=1, keepdims=True)
    log_z = top + np.log(np.exp(flat - top).sum(axis=1, keepdims=True))
    return (flat - log_z).reshape(logits.shape)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=axis, keepdims=True))


def _separate_factor_logits(cfg: SeparateFactorsConfig, seeds: list[np.random.SeedSequence],
                            x_users: np.ndarray, x_enjoy: np.ndarray) -> np.ndarray:
    """Unnormalised log P of the separate consumption/enjoyment model for the rows of
    ``x_users`` / ``x_enjoy`` (users or user types). ``seeds`` are the three item streams."""
    m, re = cfg.n_items, cfg.enjoyment_rank
    log_consume = _consumption_logits(cfg, seeds[:2], x_users)               # (rows, m)
    y_enjoy = np.random.default_rng(seeds[2]).standard_normal((m, re))
    v = np.asarray(cfg.levels)
    mid, half = (v[0] + v[-1]) / 2, _half_range(v)
    mu = mid + cfg.kappa * half * np.tanh((x_enjoy @ y_enjoy.T) / np.sqrt(re))  # (rows, m)
    tau = cfg.tau * half
    log_rating = _log_softmax(-(v[None, None, :] - mu[..., None]) ** 2 / (2 * tau ** 2),
                              axis=-1)                                      # (rows, m, C)
    return log_consume[..., None] + log_rating


@dataclass(frozen=True, kw_only=True)
class SeparateFactorsConfig(TruthConfig):
    """The truth of SPEC §8: Zipf-like popularity, separate consumption and enjoyment factors.

        P_u(i) ∝ pop_i^s · exp(a <x_u, y_i> / sqrt(r)),
        P_u(c | i) ∝ exp(-(v_c - μ_ui)² / (2 (τ h)²)),
        μ_ui = mid + κ h tanh(<x'_u, y'_i> / sqrt(r')),

    pop_i = rank_i^(-zipf_exponent), mid = (v_1 + v_C)/2, h = (v_C − v_1)/2 the half-range of
    the scale (so κ and τ mean the same on 1..5, half stars or 1..100; on 1..5 the defaults
    give κ h = 1.6 and τ h = 0.7 rating points), all factors standard normal. The
    enjoyment factors (x', y') are independent of the consumption factors (x, y), so items that
    a user rarely picks but would rate high (hidden gems) exist.

    rank r, enjoyment_rank r' : factor dimensions.
    zipf_exponent, popularity_power s : popularity profile and its weight in consumption.
    affinity a : strength of personal taste in consumption.
    kappa κ, tau τ : spread of the mean rating around mid, and of ratings around the mean,
        in units of the half-range h.
    """

    kind: ClassVar[str] = "separate"

    rank: int = 4
    enjoyment_rank: int = 4
    zipf_exponent: float = 1.0
    popularity_power: float = 1.0
    affinity: float = 1.0
    kappa: float = 0.8
    tau: float = 0.35

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        for field in ("rank", "enjoyment_rank"):
            value = getattr(self, field)
            _check(isinstance(value, int) and value >= 1, name, field, value,
                   "expected an integer >= 1")
        for field in ("zipf_exponent", "popularity_power", "affinity", "kappa"):
            value = getattr(self, field)
            _check(np.isfinite(value) and value >= 0, name, field, value, "expected >= 0")
        _check(np.isfinite(self.tau) and self.tau > 0, name, "tau", self.tau, "expected > 0")

    def _log_prob(self, seed: np.random.SeedSequence) -> np.ndarray:
        s_items, s_users = seed.spawn(2)
        items = s_items.spawn(3)
        u_consume, u_enjoy = s_users.spawn(2)
        x = np.random.default_rng(u_consume).standard_normal((self.n_users, self.rank))
        xe = np.random.default_rng(u_enjoy).standard_normal((self.n_users, self.enjoyment_rank))
        return _normalise_log(_separate_factor_logits(self, items, x, xe))


@dataclass(frozen=True, kw_only=True)
class MixtureConfig(SeparateFactorsConfig):
    """A mixture of user types: K types, each a separate-factors distribution P^(k)(i, c) with
    its own type factors; user u mixes them with weights π_u ~ Dirichlet(concentration · 1_K):

        P_u(i, c) = Σ_k π_uk P^(k)(i, c).

    A small concentration makes users nearly pure types. The mixture is not a softmax of a
    low-rank logit matrix, which the separate-factors truth is.
    """

    kind: ClassVar[str] = "mixture"

    n_types: int = 6
    concentration: float = 0.3
    affinity: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        _check(isinstance(self.n_types, int) and self.n_types >= 1, name, "n_types",
               self.n_types, "expected an integer >= 1")
        _check(np.isfinite(self.concentration) and self.concentration > 0, name,
               "concentration", self.concentration, "expected > 0")

    def _log_prob(self, seed: np.random.SeedSequence) -> np.ndarray:
        s_items, s_types, s_users = seed.spawn(3)
        t_consume, t_enjoy = s_types.spawn(2)
        x = np.random.default_rng(t_consume).standard_normal((self.n_types, self.rank))
        xe = np.random.default_rng(t_enjoy).standard_normal((self.n_types, self.enjoyment_rank))
        log_types = _normalise_log(_separate_factor_logits(self, s_items.spawn(3), x, xe))
        weights = _dirichlet(np.random.default_rng(s_users),
                             np.full(self.n_types, self.concentration), self.n_users)
        # log Σ_k π_uk P^(k)(i, c), in log space (a type may give a cell ~ exp(-1000))
        terms = np.log(weights)[:, :, None, None] + log_types[None]        # (users, K, m, C)
        top = terms.max(axis=1)
        return _normalise_log(top + np.log(np.exp(terms - top[:, None]).sum(axis=1)))


@dataclass(frozen=True, kw_only=True)
class DirichletConfig(TruthConfig):
    """A full-rank truth: every user's joint distribution is an independent Dirichlet draw,

        P_u ~ Dirichlet(concentration · base),  base(i, c) = pop_i / Σ pop · 1/C,

    with Zipf popularity pop_i = rank_i^(-zipf_exponent). Users share only the base measure,
    so nothing low-rank is there to learn beyond it: the hard case.
    """

    kind: ClassVar[str] = "dirichlet"

    zipf_exponent: float = 1.0
    concentration: float = 200.0

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        _check(np.isfinite(self.zipf_exponent) and self.zipf_exponent >= 0, name,
               "zipf_exponent", self.zipf_exponent, "expected >= 0")
        _check(np.isfinite(self.concentration) and self.concentration > 0, name,
               "concentration", self.concentration, "expected > 0")

    def _log_prob(self, seed: np.random.SeedSequence) -> np.ndarray:
        s_items, s_users = seed.spawn(2)
        log_pop = _zipf_log_popularity(self.n_items, self.zipf_exponent,
                                       np.random.default_rng(s_items))
        pop = np.exp(log_pop - log_pop.max())
        base = np.repeat((pop / pop.sum())[:, None] / len(self.levels), len(self.levels), 1)
        p = _dirichlet(np.random.default_rng(s_users), self.concentration * base.ravel(),
                       self.n_users)
        return np.log(p).reshape(self.n_users, self.n_items, len(self.levels))


@dataclass(frozen=True, kw_only=True)
class SharedLevelsConfig(SeparateFactorsConfig):
    """Level patterns shared across items: each user has a rating style s_u, one of
    ``n_styles`` patterns φ_s ~ Dirichlet(style_concentration · 1_C) over the levels (harsh,
    generous, polarised, ...), which a tilt t_ui towards high levels modulates at each item:

        P_u(c | i) ∝ φ_{s_u}(c) · exp(t_ui z_c),   z_c = levels mapped to [-1, 1],
        t_ui = quality_scale · (λ_i + <x'_u, y'_i> / sqrt(r')) / sqrt(2),

    with item quality λ_i and the enjoyment factors standard normal; consumption is that of the
    separate-factors truth (kappa and tau are unused). The same level combination recurs at
    every item, which is what a 1x1 convolution over levels shares (SPEC F2).
    """

    kind: ClassVar[str] = "shared_levels"

    n_styles: int = 4
    style_concentration: float = 1.0
    quality_scale: float = 1.5

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        _check(isinstance(self.n_styles, int) and self.n_styles >= 1, name, "n_styles",
               self.n_styles, "expected an integer >= 1")
        for field in ("style_concentration", "quality_scale"):
            value = getattr(self, field)
            _check(np.isfinite(value) and value > 0, name, field, value, "expected > 0")

    def _log_prob(self, seed: np.random.SeedSequence) -> np.ndarray:
        s_items, s_styles, s_users = seed.spawn(3)
        items = s_items.spawn(4)
        u_consume, u_enjoy, u_style = s_users.spawn(3)
        x = np.random.default_rng(u_consume).standard_normal((self.n_users, self.rank))
        xe = np.random.default_rng(u_enjoy).standard_normal((self.n_users, self.enjoyment_rank))
        y_enjoy = np.random.default_rng(items[2]).standard_normal(
            (self.n_items, self.enjoyment_rank))
        log_consume = _consumption_logits(self, items[:2], x)
        n_levels = len(self.levels)
        phi = _dirichlet(np.random.default_rng(s_styles),
                         np.full(n_levels, self.style_concentration), self.n_styles)
        style = np.random.default_rng(u_style).integers(0, self.n_styles, self.n_users)
        quality = np.random.default_rng(items[3]).standard_normal(self.n_items)
        tilt = self.quality_scale * (quality[None, :] + xe @ y_enjoy.T
                                     / np.sqrt(self.enjoyment_rank)) / np.sqrt(2)
        log_rating = _log_softmax(np.log(phi)[style][:, None, :]
                                  + tilt[..., None] * self._level_z()[None, None, :], axis=-1)
        return _normalise_log(log_consume[..., None] + log_rating)


def _consumption_logits(cfg: SeparateFactorsConfig, seeds: list[np.random.SeedSequence],
                        x_users: np.ndarray) -> np.ndarray:
    """log pop_i^s + a <x_u, y_i>/sqrt(r), the consumption logits of the separate model, from
    the same popularity and item-factor streams as :func:`_separate_factor_logits`."""
    log_pop = _zipf_log_popularity(cfg.n_items, cfg.zipf_exponent, np.random.default_rng(seeds[0]))
    y = np.random.default_rng(seeds[1]).standard_normal((cfg.n_items, cfg.rank))
    return cfg.popularity_power * log_pop[None, :] + cfg.affinity * (x_users @ y.T) / np.sqrt(
        cfg.rank)


def _dirichlet(rng: np.random.Generator, alpha: np.ndarray, n: int) -> np.ndarray:
    """n Dirichlet(alpha) draws, shape (n, len(alpha)), every entry > 0.

    Gamma draws with a tiny shape can underflow to 0; they are floored at the smallest normal
    float64 (which changes the distribution by less than 1e-300) so that log P is finite.
    """
    g = rng.standard_gamma(np.broadcast_to(alpha, (n, len(alpha))))
    g = np.maximum(g, np.finfo(np.float64).tiny)
    return g / g.sum(axis=1, keepdims=True)


#: Truth classes by ``kind``.
TRUTH_KINDS: dict[str, type[TruthConfig]] = {
    cls.kind: cls for cls in (SeparateFactorsConfig, MixtureConfig, DirichletConfig,
                              SharedLevelsConfig)
}

#: The registered, named ground truths. ``separate`` is the default truth of the sweeps.
TRUTHS: dict[str, TruthConfig] = {
    "separate": SeparateFactorsConfig(),
    "mixture": MixtureConfig(),
    "dirichlet": DirichletConfig(),
    "shared_levels": SharedLevelsConfig(),
}

DEFAULT_TRUTH = "separate"


def get_truth(name: str, **overrides: Any) -> TruthConfig:
    """The registered truth config ``name`` with some fields replaced (e.g. ``n_users=50``)."""
    if name not in TRUTHS:
        raise TruthError(f"unknown truth {name!r}; registered: {sorted(TRUTHS)}")
    return TRUTHS[name].replace(**overrides) if overrides else TRUTHS[name]


# ----------------------------------------------------------------------------------- truth
class Truth:
    """A ground truth's exact sampling distribution.

    Attributes
    ----------
    config : TruthConfig
    log_prob : ndarray, shape (n_users, n_items, n_levels), float64
        log P_u(i, c); ``exp`` sums to 1 over (i, c) for every user.
    levels : ndarray, shape (n_levels,)
    """

    def __init__(self, config: TruthConfig, log_prob: np.ndarray) -> None:
        self.config = config
        self.log_prob = np.asarray(log_prob, dtype=np.float64)
        self.levels = np.asarray(config.levels, dtype=np.float64)
        expected = (config.n_users, config.n_items, len(config.levels))
        if self.log_prob.shape != expected:
            raise TruthError(f"{type(config).__name__}: log_prob has shape "
                             f"{self.log_prob.shape}, expected {expected}")

    @property
    def prob(self) -> np.ndarray:
        """P_u(i, c), shape (n_users, n_items, n_levels)."""
        return np.exp(self.log_prob)

    @property
    def n_users(self) -> int:
        return self.config.n_users

    @property
    def n_items(self) -> int:
        return self.config.n_items

    @property
    def n_levels(self) -> int:
        return len(self.config.levels)

    def sample(self, n_per_user: int, rng: np.random.Generator) -> Interactions:
        """``n_per_user`` i.i.d. draws (u, i, c) ~ P_u for every user, with replacement.

        A cell drawn k times appears as k interactions: the multiset of draws is the training
        data, because i.i.d. draws are what the log-loss recovers P_u from (SPEC §6).

        Parameters
        ----------
        n_per_user : int >= 1
        rng : numpy Generator, the only source of randomness.

        Returns
        -------
        Interactions with ``n_users * n_per_user`` interactions, sorted by user then cell.
        """
        if not isinstance(n_per_user, (int, np.integer)) or n_per_user < 1:
            raise TruthError(f"n_per_user={n_per_user!r}: expected an integer >= 1")
        counts = self.sample_counts(int(n_per_user), rng)
        user, cell = np.nonzero(counts)
        reps = counts[user, cell]
        user, cell = np.repeat(user, reps), np.repeat(cell, reps)
        return Interactions(user=user, item=cell // self.n_levels, level=cell % self.n_levels,
                            levels=self.levels, user_ids=np.arange(self.n_users),
                            item_ids=np.arange(self.n_items),
                            source=f"sim:{self.config.kind}")

    def sample_counts(self, n_per_user: int, rng: np.random.Generator) -> np.ndarray:
        """Multinomial(n_per_user, P_u) counts of every cell, shape (n_users, n_items * n_levels)
        (cell index ``item * n_levels + level``)."""
        p = self.prob.reshape(self.n_users, -1)
        p = p / p.sum(axis=1, keepdims=True)
        return rng.multinomial(n_per_user, p)

    def hidden_gems(self, k: int, *, fraction: float = 0.1,
                    tau: float | None = None) -> np.ndarray:
        """The true hidden gems of every user: outside the user's top ``fraction`` of P_u(i),
        the k items of highest P_u(high | i) (the rule of :func:`conv4rec.predict.hidden_gems`,
        applied to P).

        Returns
        -------
        ndarray of int64, shape (n_users, min(k, n_items)), best first.
        """
        gems = _rank_hidden_gems(torch.from_numpy(self.log_prob), self.levels, k,
                                 fraction=fraction, tau=tau)
        return gems.numpy().astype(np.int64)

    def __repr__(self) -> str:
        return (f"Truth({self.config.kind}, n_users={self.n_users}, n_items={self.n_items}, "
                f"levels={self.levels.tolist()})")
