"""Checkpoints: exact round trips, atomic writes and one-line errors for bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from conv4rec.checkpoint import CheckpointError, load_checkpoint
from conv4rec.config import Conv4RecConfig
from conv4rec.demo import synthetic_interactions
from conv4rec.estimator import Conv4RecEstimator


@pytest.fixture(scope="module")
def fitted():
    data = synthetic_interactions(n_users=40, n_items=25, per_user=8, seed=2)
    config = Conv4RecConfig(hidden=(8,), in_channels=2, out_channels=2, epochs=2, patience=1)
    return Conv4RecEstimator(config, progress=False).fit(data, generator=0)


def test_round_trip_gives_identical_predictions(fitted, tmp_path):
    path = tmp_path / "model.pt"
    fitted.save(path, risk={"eta": 1e-4, "train": 1.0, "test": 2.0})
    loaded = Conv4RecEstimator.load(path)
    assert loaded.config == fitted.config
    torch.testing.assert_close(loaded.predict_log_proba(), fitted.predict_log_proba(),
                               rtol=0, atol=0)
    meta = load_checkpoint(path).metadata
    assert meta["n_users"] == 40 and meta["n_items"] == 25 and meta["n_levels"] == 5
    assert meta["n_observed"] == fitted.train_data_.n_observed
    assert meta["max_input_interactions"] == 8
    assert meta["data_fingerprint"] == fitted.train_data_.fingerprint()
    assert meta["risk"]["test"] == 2.0 and meta["package_version"]
    ckpt = load_checkpoint(path)
    assert set(ckpt.initial_state_dict) == set(ckpt.state_dict)
    json.dumps(meta)  # JSON-able


def test_no_temporary_file_is_left_behind(fitted, tmp_path):
    fitted.save(tmp_path / "a.pt")
    assert os.listdir(tmp_path) == ["a.pt"]


def test_truncated_file_gives_one_line_error(fitted, tmp_path):
    path = tmp_path / "model.pt"
    fitted.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a torch file") as err:
        Conv4RecEstimator.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a Conv4Rec checkpoint"):
        load_checkpoint(path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="truncated or not a torch file"):
        load_checkpoint(text)


class Payload:  # a pickled object a checkpoint must never execute
    pass


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "conv4rec.checkpoint", "obj": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused to load pickled objects"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")


def test_weights_that_do_not_match_metadata(fitted, tmp_path):
    path = tmp_path / "model.pt"
    ckpt = fitted.to_checkpoint()
    ckpt.metadata["n_cols"] = 3
    from conv4rec.checkpoint import save_checkpoint

    save_checkpoint(path, ckpt)
    with pytest.raises(CheckpointError, match=r"'item_bias' has shape \(25, 5\), the "
                       r"metadata implies \(3, 5\)") as err:
        Conv4RecEstimator.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("edit, message", [
    (lambda sd: sd.pop("decoder.weight"), "tensor 'decoder.weight' is missing"),
    (lambda sd: sd.update(extra=torch.zeros(1)), "unexpected tensor 'extra'"),
])
def test_edited_weights_are_named(fitted, tmp_path, edit, message):
    from conv4rec.checkpoint import save_checkpoint

    ckpt = fitted.to_checkpoint()
    edit(ckpt.state_dict)
    save_checkpoint(tmp_path / "model.pt", ckpt)
    with pytest.raises(CheckpointError, match=message):
        Conv4RecEstimator.load(tmp_path / "model.pt")


def test_history_records_norms(fitted):
    assert "encoder.0.weight" in fitted.history_[0]["norms"]
    assert np.isfinite(fitted.history_[0]["norms"]["decoder.weight"]["fro"])
