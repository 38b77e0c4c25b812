"""Bound name -> function of the checkpoint statistics, with its reference (docs/bounds.md).

Every entry is a function ``(stats, *, delta) -> BoundResult`` that checks the assumptions of
the published result on the checkpoint's architecture and returns a "not applicable" result
with the reason when one fails, instead of a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bounds import bartlett2017, golowich2018, ledent2021
from bounds.chain import DEFAULT_GRID
from bounds.report import BoundResult, Report
from bounds.stats import ACTIVATIONS, CheckpointStats


@dataclass(frozen=True)
class BoundSpec:
    """A registered bound: its name, the function computing it, reference and doc section."""

    name: str
    compute: Callable[..., BoundResult]
    reference: str
    section: str
    summary: str


_LIPSCHITZ_NOTE = ("each activation is Lipschitz with the stated constant (act - act(0) "
                   "vanishes at 0)")


def _common_check(stats: CheckpointStats) -> str | None:
    if not stats.loss_is_joint:
        return (f"the loss has alpha={stats.alpha:g} != beta={stats.beta:g}: the bounds are "
                "for alpha * l_eta, the joint log-loss mixed with the uniform distribution")
    if not 0 < stats.eta < 1:
        return f"eta={stats.eta!r}: the bounded loss needs 0 < eta < 1"
    return None


def _finish(result: BoundResult, stats: CheckpointStats, extra: Iterable[str] = (),
            section: str | None = None) -> BoundResult:
    """The result with the checkpoint's assumptions (and ``extra`` ones) attached."""
    assumptions = list(stats.assumptions) + list(extra)
    return BoundResult(name=result.name, value=result.value, log10_value=result.log10_value,
                       terms=result.terms, reference=result.reference,
                       assumptions=tuple(assumptions), section=section or result.section,
                       main_terms=result.main_terms)


def _golowich(stats: CheckpointStats, *, delta: float, simplified: bool) -> BoundResult:
    name = "golowich2018_frobenius" + ("_simplified" if simplified else "")
    reason = _common_check(stats)
    bad = [a for a in (*stats.hidden_activations, stats.decoder_activation)
           if not ACTIVATIONS[a].homogeneous]
    if reason is None and bad:
        reason = (f"activation {bad[0]!r} is not positively homogeneous; Golowich et al.'s "
                  "Theorem 1 peels layers with sigma(t x) = t sigma(x), so it covers relu and "
                  "identity only (the input convolution's activation is free, docs §2.2)")
    if reason:
        return BoundResult.not_applicable(name, reason, reference=golowich2018.REFERENCE,
                                          section=golowich2018.SECTION)
    input_sq_sum = (stats.n * stats.input_norm_max ** 2 if simplified else stats.input_sq_sum)
    result = golowich2018.golowich2018_frobenius(
        frobenius=[value for _, value in stats.frobenius_chain], input_sq_sum=input_sq_sum,
        n=stats.n, n_outputs=stats.n_outputs, loss_range=stats.loss_range,
        loss_lipschitz=stats.loss_lipschitz, delta=delta, grid=DEFAULT_GRID, name=name)
    extra = ["activations after the hidden layers are relu or identity (checked)"]
    if simplified:
        extra.append("sqrt(sum_u |x_u|^2) replaced by sqrt(n) max_u |x_u| (Golowich et al.'s "
                     "bounded-input form)")
    return _finish(result, stats, extra,
                   section=golowich2018.SECTION + (".5" if simplified else ""))


def _golowich2018_frobenius_entry(stats: CheckpointStats, *, delta: float = 0.05) -> BoundResult:
    """docs/bounds.md §2: Golowich et al. 2018, Theorem 1, per logit, via Maurer 2016."""
    return _golowich(stats, delta=delta, simplified=False)


def _golowich2018_frobenius_simplified_entry(stats: CheckpointStats, *,
                                      delta: float = 0.05) -> BoundResult:
    """docs/bounds.md §2.5: the same with the bounded-input form sqrt(n) · max_u ‖x̂_u‖."""
    return _golowich(stats, delta=delta, simplified=True)


def _spectral_args(stats: CheckpointStats) -> dict:
    chain = stats.spectral_chain
    return {"spectral": [layer.spectral for layer in chain],
            "lipschitz": [layer.lipschitz for layer in chain],
            "input_sq_sum": stats.input_sq_sum, "n": stats.n, "loss_range": stats.loss_range,
            "loss_lipschitz": stats.loss_lipschitz}


def _bartlett2017_spectral_entry(stats: CheckpointStats, *, delta: float = 0.05) -> BoundResult:
    """docs/bounds.md §3: Bartlett et al. 2017, 1x1 convolutions unrolled over the items."""
    reason = _common_check(stats)
    if reason:
        return BoundResult.not_applicable("bartlett2017_spectral", reason,
                                          reference=bartlett2017.REFERENCE,
                                          section=bartlett2017.SECTION)
    chain = stats.spectral_chain
    result = bartlett2017.bartlett2017_spectral(
        l21_distance=[layer.l21_distance_unrolled for layer in chain],
        max_dim=max(max(layer.rows, layer.cols) for layer in chain), delta=delta,
        grid=DEFAULT_GRID, **_spectral_args(stats))
    return _finish(result, stats, [_LIPSCHITZ_NOTE])


def _ledent2021_weight_sharing_entry(stats: CheckpointStats, *, delta: float = 0.05) -> BoundResult:
    """docs/bounds.md §4: shared 1x1 filters covered once (Ledent et al. 2021's device)."""
    reason = _common_check(stats)
    if reason:
        return BoundResult.not_applicable("ledent2021_weight_sharing", reason,
                                          reference=ledent2021.REFERENCE,
                                          section=ledent2021.SECTION)
    chain = stats.spectral_chain
    result = ledent2021.ledent2021_weight_sharing(
        l21_distance=[layer.l21_distance_shared for layer in chain],
        cover_dims=[layer.cover_dim_shared for layer in chain], delta=delta, grid=DEFAULT_GRID,
        **_spectral_args(stats))
    return _finish(result, stats, [_LIPSCHITZ_NOTE])


REGISTRY: dict[str, BoundSpec] = {spec.name: spec for spec in (
    BoundSpec("golowich2018_frobenius", _golowich2018_frobenius_entry, golowich2018.REFERENCE,
              golowich2018.SECTION, "product of Frobenius norms, depth as sqrt(2 log2 d) + 1"),
    BoundSpec("golowich2018_frobenius_simplified", _golowich2018_frobenius_simplified_entry,
              golowich2018.REFERENCE, golowich2018.SECTION + ".5",
              "the same with sqrt(n) max |x| for sqrt(sum |x|^2)"),
    BoundSpec("bartlett2017_spectral", _bartlett2017_spectral_entry, bartlett2017.REFERENCE,
              bartlett2017.SECTION, "spectral norms times (2,1) distances, convs unrolled"),
    BoundSpec("ledent2021_weight_sharing", _ledent2021_weight_sharing_entry, ledent2021.REFERENCE,
              ledent2021.SECTION, "spectral norms times (2,1) distances, filters counted once"),
)}


def compute_bounds(stats: CheckpointStats, *, delta: float = 0.05,
                   only: Iterable[str] | None = None) -> list[BoundResult]:
    """Evaluate the registered bounds (all, or those named in ``only``) on ``stats``."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta={delta!r}: expected 0 < delta < 1")
    names = list(REGISTRY) if only is None else list(only)
    unknown = [x for x in names if x not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown bound(s) {unknown}; known: {sorted(REGISTRY)}")
    return [REGISTRY[name].compute(stats, delta=delta) for name in names]


def build_report(stats: CheckpointStats, *, delta: float = 0.05,
                 only: Iterable[str] | None = None) -> Report:
    """The :class:`Report` of a checkpoint: every requested bound and the measured risks."""
    return Report(checkpoint=stats.source, delta=delta, n=stats.n, m=stats.m,
                  n_levels=stats.n_levels, eta=stats.eta,
                  loss_range=stats.loss_range if stats.eta > 0 else math.nan,
                  bounds=tuple(compute_bounds(stats, delta=delta, only=only)),
                  risk=stats.risk, assumptions=stats.assumptions)
