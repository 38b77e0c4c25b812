"""The result cache: one JSON file per (config, seed), written atomically.

Layout: ``<root>/<sweep>/<config hash>-seed<k>.json`` (and the run's Conv4Rec checkpoint
``<config hash>-seed<k>.pt`` beside it). A file is written once the run is complete, through a
temporary file and ``os.replace``, so an interrupted sweep leaves only complete results and
resumes with the missing ones; since ``run`` is a pure function of (config, seed), the resumed
sweep holds the same numbers as an uninterrupted one.

The root is ``--results DIR``, else ``$CONV4REC_RESULTS``, else ``results/`` in the current
directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from conv4rec import __version__
from conv4rec.checkpoint import atomic_write_bytes, atomic_write_text
from simulations.experiment import RESULT_VERSION, ExperimentConfig

logger = logging.getLogger(__name__)

RESULTS_ENV = "CONV4REC_RESULTS"
FORMAT = "conv4rec.simulation_result"


def results_root(path: str | os.PathLike | None = None) -> Path:
    """The results directory: ``path``, else ``$CONV4REC_RESULTS``, else ``./results``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(RESULTS_ENV) or "results")


class ResultCache:
    """Cached results of one sweep.

    Parameters
    ----------
    root : the results directory.
    sweep : the sweep's name (a folder under ``root``).
    """

    def __init__(self, root: str | os.PathLike, sweep: str) -> None:
        self.root = Path(root)
        self.sweep = sweep
        self.dir = self.root / sweep

    def stem(self, config: ExperimentConfig, seed: int) -> str:
        return f"{config.short_hash()}-seed{int(seed)}"

    def path(self, config: ExperimentConfig, seed: int) -> Path:
        return self.dir / f"{self.stem(config, seed)}.json"

    def checkpoint_path(self, config: ExperimentConfig, seed: int) -> Path:
        return self.dir / f"{self.stem(config, seed)}.pt"

    @staticmethod
    def read(path: Path, config: ExperimentConfig, seed: int) -> dict[str, Any] | None:
        """The envelope at ``path`` if it is a complete result of (config, seed), else None
        (a missing, truncated, foreign or stale file)."""
        try:
            envelope = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            logger.warning("%s: unreadable cached result (%s); it will be recomputed", path,
                           type(exc).__name__)
            return None
        if (not isinstance(envelope, dict) or envelope.get("format") != FORMAT
                or envelope.get("result_version") != RESULT_VERSION
                or envelope.get("seed") != int(seed)
                or envelope.get("config") != json.loads(config.to_json())
                or not isinstance(envelope.get("result"), dict)):
            logger.warning("%s: not a current result of this config and seed; it will be "
                           "recomputed", path)
            return None
        return envelope

    def load(self, config: ExperimentConfig, seed: int) -> dict[str, Any] | None:
        """The cached envelope of (config, seed) in this sweep, or None when there is none.

        A result of the same config and seed cached by another sweep under the same root is
        copied in (with its checkpoint) instead of being recomputed.
        """
        found = self.read(self.path(config, seed), config, seed)
        if found is not None:
            return found
        name = self.path(config, seed).name
        for other in sorted(self.root.glob(f"*/{name}")):
            if other.parent == self.dir:
                continue
            envelope = self.read(other, config, seed)
            if envelope is not None:
                ckpt = other.with_suffix(".pt")
                if ckpt.is_file():
                    atomic_write_bytes(self.checkpoint_path(config, seed), _copy_from(ckpt))
                envelope = {**envelope, "sweep": self.sweep, "copied_from": other.parent.name}
                atomic_write_text(self.path(config, seed), json.dumps(envelope, indent=1,
                                                                      sort_keys=True))
                return envelope
        return None

    def store(self, config: ExperimentConfig, seed: int, result: dict[str, Any], *,
              wall_seconds: float) -> dict[str, Any]:
        """Write a finished result atomically; return its envelope."""
        envelope = {
            "format": FORMAT,
            "result_version": RESULT_VERSION,
            "sweep": self.sweep,
            "hash": config.short_hash(),
            "seed": int(seed),
            "config": json.loads(config.to_json()),
            "result": result,
            "wall_seconds": wall_seconds,
            "package_version": __version__,
        }
        atomic_write_text(self.path(config, seed), json.dumps(envelope, indent=1,
                                                              sort_keys=True))
        return envelope


def _copy_from(src: Path):
    def write(fh) -> None:
        with src.open("rb") as source:
            shutil.copyfileobj(source, fh)
    return write
