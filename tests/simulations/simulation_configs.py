"""Tiny experiment configs shared by the simulation tests (each run well under a second)."""

from __future__ import annotations

from conv4rec.config import Conv4RecConfig
from simulations.baselines import IndependentConfig, MultVAEConfig
from simulations.experiment import ExperimentConfig
from simulations.truths import get_truth

TINY_MODEL = Conv4RecConfig(hidden=(8,), in_channels=2, out_channels=3, epochs=4, batch_size=8,
                            patience=2, validation_fraction=0.1, lr=3e-3)


def tiny_config(**changes) -> ExperimentConfig:
    fields = {"truth": get_truth("separate", n_users=16, n_items=8, levels=(1.0, 2.0, 3.0)),
              "n_per_user": 6, "model": TINY_MODEL,
              "multvae": MultVAEConfig(epochs=2, hidden=8, latent=3),
              "independent": IndependentConfig(steps=10, rank=2), "gem_k": 3}
    fields.update(changes)
    return ExperimentConfig(**fields)
