"""Generalization bounds of a trained Conv4Rec checkpoint, from the checkpoint file alone.

Derivations: ``docs/bounds.md``. The package reads checkpoints through
``conv4rec.checkpoint`` and nothing else of ``conv4rec``.

Public API
----------
CheckpointStats.from_checkpoint(path) -> CheckpointStats     every norm, computed once
compute_bounds(stats, delta=..., only=...) -> list[BoundResult]
build_report(stats, delta=..., only=...) -> Report            bounds next to the measured gap
REGISTRY                                                      name -> BoundSpec
golowich2018_frobenius, bartlett2017_spectral, ledent2021_weight_sharing (numeric forms,
keyword-only arguments), the norms of :mod:`bounds.norms`.
"""

from bounds.bartlett2017 import bartlett2017_spectral
from bounds.chain import DEFAULT_GRID, RadiusGrid, loss_constants
from bounds.golowich2018 import golowich2018_frobenius
from bounds.ledent2021 import ledent2021_weight_sharing
from bounds.norms import (
    MatrixNorms,
    conv_bias_spectral_norm,
    frobenius_norm,
    l21_norm,
    matrix_norms,
    spectral_norm,
)
from bounds.registry import REGISTRY, BoundSpec, build_report, compute_bounds
from bounds.report import BoundResult, Report
from bounds.stats import BoundsError, ChainLayer, CheckpointStats, LayerStats

__all__ = [
    "DEFAULT_GRID", "REGISTRY", "BoundResult", "BoundSpec", "BoundsError", "ChainLayer",
    "CheckpointStats", "LayerStats", "MatrixNorms", "RadiusGrid", "Report",
    "bartlett2017_spectral", "build_report", "compute_bounds", "conv_bias_spectral_norm",
    "frobenius_norm", "golowich2018_frobenius", "l21_norm", "ledent2021_weight_sharing",
    "loss_constants", "matrix_norms", "spectral_norm",
]
