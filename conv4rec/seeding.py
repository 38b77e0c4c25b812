"""Seeds: every random stream of a fit is spawned from one root seed (NumPy SeedSequence)."""

from __future__ import annotations

import numpy as np
import torch

SeedLike = int | np.random.SeedSequence


def seed_sequence(generator: SeedLike) -> np.random.SeedSequence:
    """The root SeedSequence of an int seed (or the SeedSequence itself)."""
    if isinstance(generator, np.random.SeedSequence):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.SeedSequence(int(generator))
    raise TypeError(f"generator must be an int seed or numpy SeedSequence, got {generator!r}")


def torch_generator(seq: np.random.SeedSequence, device: str = "cpu") -> torch.Generator:
    """A torch Generator on ``device`` seeded from ``seq``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)))
    return gen
