"""The checkpoint file: tensors and JSON-able metadata only, written atomically.

This module is the boundary between training and the ``bounds`` package, which reads
checkpoints with :func:`load_checkpoint` and nothing else of ``conv4rec``. The format is
documented in ``docs/checkpoint_format.md``.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

FORMAT = "conv4rec.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, foreign or of an unknown version."""


@dataclass(frozen=True)
class Checkpoint:
    """The content of a checkpoint file.

    Attributes
    ----------
    metadata : dict
        JSON-able: ``config``, ``levels``, ``n_users``, ``n_items`` (dataset orientation),
        ``n_rows``/``n_cols`` (model orientation: samples and the m items of the network),
        ``n_observed``, ``max_input_interactions``, losses, ``data_fingerprint``,
        ``package_version``, ``architecture``, raw ``user_ids``/``item_ids``, ``history``.
    state_dict, initial_state_dict : dict of str to Tensor
        Trained and initial weights of the network.
    inputs : dict of str to Tensor
        The training interactions ``user``, ``item``, ``level`` (dataset orientation), used as
        the input profile of known users at prediction time.
    """

    metadata: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    initial_state_dict: dict[str, torch.Tensor]
    inputs: dict[str, torch.Tensor]


def atomic_write_bytes(path: str | os.PathLike, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, lambda fh: fh.write(text.encode("utf-8")))


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    metadata_json = json.dumps(checkpoint.metadata, sort_keys=True)  # fails early if not JSON-able
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata_json": metadata_json,
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "initial_state_dict": {k: v.detach().cpu() for k, v in
                               checkpoint.initial_state_dict.items()},
        "inputs": {k: v.detach().cpu() for k, v in checkpoint.inputs.items()},
    }
    atomic_write_bytes(path, lambda fh: torch.save(payload, fh))


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises
    ------
    CheckpointError
        One line naming the file: missing, truncated or corrupt, holding pickled objects,
        not a Conv4Rec checkpoint, or of a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: refused to load pickled objects ({first[:120]})") from None
    except Exception as exc:  # torch raises many types for a damaged or non-torch file
        raise CheckpointError(f"{path}: truncated or not a torch file "
                              f"({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Conv4Rec checkpoint (no format field "
                              f"{FORMAT!r})")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format_version {version!r} is not supported "
                              f"(this version reads {FORMAT_VERSION})")
    try:
        metadata = json.loads(payload["metadata_json"])
        state_dict = dict(payload["state_dict"])
        initial = dict(payload["initial_state_dict"])
        inputs = dict(payload["inputs"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint field missing or malformed ({exc})") from None
    return Checkpoint(metadata=metadata, state_dict=state_dict, initial_state_dict=initial,
                      inputs=inputs)
