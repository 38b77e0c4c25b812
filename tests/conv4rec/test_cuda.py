"""The CUDA path against the CPU one: same function, same checkpoints, same CLI output.

These tests need a CUDA device and are skipped without one (CI has none): run them on a GPU
machine with ``make gpu-check`` (docs/performance.md gives the last run). Tolerances: the GPU
computes the same float32 function with other summation orders (cuBLAS kernels, atomics in
``embedding_bag``'s backward), so single outputs agree to ~1e-5 relative; a few epochs of
training amplify that, hence the looser tolerances on trained quantities.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conv4rec.cli import main
from conv4rec.config import Conv4RecConfig
from conv4rec.demo import synthetic_interactions
from conv4rec.estimator import Conv4RecEstimator
from conv4rec.model import Conv4Rec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# no dropout: the CPU and CUDA generators draw different masks from the same seed
SMALL = Conv4RecConfig(hidden=(32,), in_channels=3, out_channels=3, epochs=4, batch_size=16,
                       patience=3, dropout=0.0)


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(n_users=80, n_items=40, per_user=12, seed=2)


def fit(data, device, config=SMALL, seed=0):
    return Conv4RecEstimator(config, device=device, progress=False).fit(data, generator=seed)


@pytest.mark.parametrize("hidden", [(32,), (64, 32)])
def test_forward_on_cuda_equals_forward_on_cpu(hidden):
    config = SMALL.replace(hidden=hidden)
    cpu = Conv4Rec(50, 4, config)
    cpu.reset_parameters(torch.Generator().manual_seed(1))
    gpu = Conv4Rec(50, 4, config).cuda()
    gpu.load_state_dict(cpu.state_dict())
    cpu.eval(), gpu.eval()
    rng = np.random.default_rng(0)
    rows = torch.as_tensor(np.sort(rng.integers(0, 8, 120)))
    items = torch.as_tensor(rng.integers(0, 50, 120))
    levels = torch.as_tensor(rng.integers(0, 4, 120))
    expected = cpu(rows, items, levels, 8)
    got = gpu(rows.cuda(), items.cuda(), levels.cuda(), 8).cpu()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_gradients_on_cuda_equal_gradients_on_cpu(data):
    cpu = Conv4Rec(data.n_items, data.n_levels, SMALL)
    cpu.reset_parameters(torch.Generator().manual_seed(3))
    gpu = Conv4Rec(data.n_items, data.n_levels, SMALL).cuda()
    gpu.load_state_dict(cpu.state_dict())
    rows, items, levels = (torch.as_tensor(a) for a in (data.user, data.item, data.level))
    cpu(rows, items, levels, data.n_users).log_softmax(-1).mean().backward()
    gpu(rows.cuda(), items.cuda(), levels.cuda(), data.n_users).log_softmax(-1).mean().backward()
    for (name, p_cpu), p_gpu in zip(cpu.named_parameters(), gpu.parameters()):
        torch.testing.assert_close(p_gpu.grad.cpu(), p_cpu.grad, rtol=1e-4, atol=1e-6,
                                   msg=lambda m, name=name: f"{name}: {m}")


def test_a_fit_on_cuda_tracks_the_same_fit_on_cpu(data):
    cpu, gpu = fit(data, "cpu"), fit(data, "cuda")
    assert len(cpu.history_) == len(gpu.history_)
    for a, b in zip(cpu.history_, gpu.history_):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)
    users = np.arange(data.n_users)
    torch.testing.assert_close(gpu.predict_log_proba(users), cpu.predict_log_proba(users),
                               rtol=1e-3, atol=1e-3)


def test_same_seed_on_cuda_gives_the_same_training_up_to_rounding(data):
    a, b = fit(data, "cuda", SMALL.replace(dropout=0.5)), fit(data, "cuda",
                                                              SMALL.replace(dropout=0.5))
    for x, y in zip(a.history_, b.history_):
        assert y["train_loss"] == pytest.approx(x["train_loss"], rel=1e-4)


@pytest.mark.parametrize("orientation", ["user", "item"])
def test_a_checkpoint_written_on_cuda_predicts_the_same_on_cpu(data, tmp_path, orientation):
    config = SMALL.replace(orientation=orientation, refine_steps=3)
    gpu = fit(data, "cuda", config)
    gpu.save(tmp_path / "c.pt")
    saved = torch.load(tmp_path / "c.pt", weights_only=True)  # no map_location: as stored
    assert {v.device.type for part in ("state_dict", "initial_state_dict")
            for v in saved[part].values()} == {"cpu"}  # a GPU-less machine reads it
    cpu = Conv4RecEstimator.load(tmp_path / "c.pt")
    assert all(p.device.type == "cpu" for p in cpu.model_.parameters())
    users, items = data.user[:50], data.item[:50]
    np.testing.assert_allclose(cpu.predict_ratings(users, items),
                               gpu.predict_ratings(users, items), rtol=1e-4, atol=1e-4)
    back = Conv4RecEstimator.load(tmp_path / "c.pt", device="cuda")
    assert back.layer_norms().keys() == cpu.layer_norms().keys()


def test_the_cli_trains_and_evaluates_on_cuda(tmp_path, capsys):
    data = synthetic_interactions(n_users=40, n_items=25, per_user=8, seed=4)
    rng = np.random.default_rng(0)
    split = np.where(rng.random(data.n_observed) < 0.2, "test", "train")
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating,split\n" + "\n".join(
        f"u{u},i{i},{r:g},{s}" for u, i, r, s in zip(data.user, data.item, data.rating, split)))
    flags = ["--hidden", "8", "--in-channels", "2", "--out-channels", "2", "--epochs", "3",
             "--dropout", "0", "--quiet"]
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "run"),
                 "--device", "cuda", *flags]) == 0
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())
    capsys.readouterr()
    scores = {}
    for device in ("cpu", "cuda"):
        assert main(["evaluate", str(tmp_path / "run" / "checkpoint.pt"), "--data", str(path),
                     "--device", device, "--json"]) == 0
        scores[device] = json.loads(capsys.readouterr().out)
    for key in ("rmse", "mae", "recall@20", "ndcg@100"):
        assert scores["cuda"][key] == pytest.approx(scores["cpu"][key], rel=1e-4, abs=1e-5)
        assert scores["cuda"][key] == pytest.approx(trained[key], rel=1e-4, abs=1e-5)
