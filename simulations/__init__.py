"""Total-variation recovery simulations (SPEC §6, §8).

Pick a ground truth (:data:`TRUTHS`), sample interactions from it, fit Conv4Rec and the
comparison estimators, and measure exactly how close each learned sampling distribution is to
the truth, next to what the theory promises. The public API:

* truths: :data:`TRUTHS`, :func:`get_truth`, :class:`Truth` and the config classes;
* metrics: :func:`distribution_metrics`, :func:`certificate`, :func:`total_variation`;
* estimators: :class:`SmoothedEmpirical`, :class:`ItemMultVAE`, :class:`IndependentModels`;
* experiments: :class:`ExperimentConfig`, :func:`run` (pure in (config, seed));
* sweeps: :func:`get_sweep`, :func:`run_sweep`, :func:`collect`, :class:`ResultCache`,
  :func:`summarise`, :func:`format_table`;
* the CLI: ``python -m simulations list | run NAME | show NAME | demo``.
"""

from simulations.baselines import (
    EmpiricalConfig,
    IndependentConfig,
    IndependentModels,
    ItemMultVAE,
    MultVAEConfig,
    SmoothedEmpirical,
)
from simulations.cache import ResultCache, results_root
from simulations.experiment import ExperimentConfig, run
from simulations.metrics import certificate, distribution_metrics, total_variation
from simulations.report import format_table, summarise
from simulations.sweeps import Sweep, collect, get_sweep, list_sweeps, run_sweep
from simulations.truths import (
    DEFAULT_TRUTH,
    TRUTHS,
    DirichletConfig,
    MixtureConfig,
    SeparateFactorsConfig,
    SharedLevelsConfig,
    Truth,
    TruthConfig,
    get_truth,
)

__all__ = [
    "DEFAULT_TRUTH", "TRUTHS", "DirichletConfig", "EmpiricalConfig", "ExperimentConfig",
    "IndependentConfig", "IndependentModels", "ItemMultVAE", "MixtureConfig", "MultVAEConfig",
    "ResultCache", "SeparateFactorsConfig", "SharedLevelsConfig", "SmoothedEmpirical", "Sweep",
    "Truth", "TruthConfig", "certificate", "collect", "distribution_metrics", "format_table",
    "get_sweep", "get_truth", "list_sweeps", "results_root", "run", "run_sweep", "summarise",
    "total_variation",
]
