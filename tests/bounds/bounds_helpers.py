"""Checkpoint builders and naive NumPy transcriptions shared by the bounds tests.

The transcriptions here are deliberately plain (dense matrices, Python loops, no log space) so
that they check the structured, log-space code of ``bounds`` independently.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from conv4rec.checkpoint import Checkpoint
from conv4rec.config import Conv4RecConfig
from conv4rec.model import Conv4Rec

ACT = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0.0)) - 1.0),
    "selu": lambda x: 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * (np.exp(np.minimum(x, 0.0)) - 1.0)),
}


# ----------------------------------------------------------------- checkpoints
def make_model(config: Conv4RecConfig, n_items: int, n_levels: int, *, seed: int = 0,
               perturb: float = 0.0) -> tuple[Conv4Rec, dict]:
    """A model at its initialisation, optionally moved by ``perturb`` * N(0, 1) per weight.

    Returns the model and a copy of its initial state dict.
    """
    model = Conv4Rec(n_items, n_levels, config)
    gen = torch.Generator().manual_seed(seed)
    model.reset_parameters(gen)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(perturb * torch.randn(p.shape, generator=gen))
    model.eval()
    return model, initial


def make_checkpoint(model: Conv4Rec, initial: dict, *, n_rows: int,
                    max_input_interactions: int, n_observed: int,
                    risk: dict | None = None) -> Checkpoint:
    """A checkpoint with the metadata fields of docs/checkpoint_format.md."""
    cfg = model.config
    metadata = {
        "config": cfg.to_dict(), "levels": list(np.arange(1.0, model.n_levels + 1.0)),
        "n_users": n_rows, "n_items": model.n_items, "n_rows": n_rows,
        "n_cols": model.n_items, "n_levels": model.n_levels, "n_observed": n_observed,
        "max_input_interactions": max_input_interactions, "data_fingerprint": "0" * 16,
        "data_source": "tests", "package_version": "test",
        "architecture": model.architecture(), "user_ids": [str(u) for u in range(n_rows)],
        "item_ids": [str(i) for i in range(model.n_items)], "history": [], "best_epoch": None,
    }
    if risk is not None:
        metadata["risk"] = risk
    empty = torch.zeros(0, dtype=torch.int32)
    return Checkpoint(metadata=metadata,
                      state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
                      initial_state_dict=initial,
                      inputs={"user": empty, "item": empty, "level": empty})


# --------------------------------------------------------- naive dense network
def _np(sd: dict, key: str) -> np.ndarray:
    return sd[key].detach().double().numpy().copy()


def naive_effective(sd: dict, cfg: Conv4RecConfig, m: int, n_levels: int) -> dict:
    """The effective weights, with the shared parts added by explicit loops."""
    k_in, k_out = cfg.in_channels, cfg.out_channels
    w0 = _np(sd, "encoder.0.weight")
    if "encoder_shared" in sd:
        shared = _np(sd, "encoder_shared")
        for i in range(m):
            w0[:, i * k_in:(i + 1) * k_in] += shared
    w_dec = _np(sd, "decoder.weight")
    if "decoder_shared" in sd:
        shared = _np(sd, "decoder_shared")
        for i in range(m):
            w_dec[i * k_out:(i + 1) * k_out, :] += shared
    enc = [(w0, _np(sd, "encoder.0.bias"))]
    for k in range(1, len(cfg.hidden)):
        enc.append((_np(sd, f"encoder.{k}.weight"), _np(sd, f"encoder.{k}.bias")))
    return {"a_in": _np(sd, "input_conv.weight"), "b_in": _np(sd, "input_conv.bias"),
            "enc": enc, "w_dec": w_dec, "b_dec": _np(sd, "decoder.bias"),
            "a_out": _np(sd, "output_conv.weight"), "b_out": _np(sd, "output_conv.bias"),
            "item_bias": _np(sd, "item_bias") if "item_bias" in sd else None}


def naive_chain(sd: dict, cfg: Conv4RecConfig, m: int, n_levels: int) -> list[np.ndarray]:
    """The dense augmented matrices of docs/bounds.md §1.3, built entry by entry."""
    w = naive_effective(sd, cfg, m, n_levels)
    act, dec = ACT[cfg.activation], ACT[cfg.decoder_activation]
    k_in, k_out, c = cfg.in_channels, cfg.out_channels, n_levels
    table = np.zeros((k_in, c))
    for lev in range(c):
        table[:, lev] = act(w["a_in"][:, lev] + w["b_in"]) - act(w["b_in"])
    h_off = act(w["b_in"])
    layer_a = np.zeros((m * k_in + 2, m * c + 2))
    for i in range(m):
        layer_a[i * k_in:(i + 1) * k_in, i * c:(i + 1) * c] = table
    layer_a[m * k_in, m * c] = 1.0
    layer_a[m * k_in + 1, m * c + 1] = 1.0
    w0, b0 = w["enc"][0]
    d0 = w0.shape[0]
    beta = np.zeros(d0)
    for i in range(m):
        beta += w0[:, i * k_in:(i + 1) * k_in] @ h_off
    layer_b = np.zeros((d0 + 1, m * k_in + 2))
    layer_b[:d0, :m * k_in] = w0
    layer_b[:d0, m * k_in] = beta
    layer_b[:d0, m * k_in + 1] = b0
    layer_b[d0, m * k_in + 1] = 1.0
    mats = [layer_a, layer_b]
    offset = float(act(np.zeros(1))[0])
    for wl, bl in w["enc"][1:]:
        aug = np.zeros((wl.shape[0] + 1, wl.shape[1] + 1))
        aug[:-1, :-1] = wl
        aug[:-1, -1] = bl + wl @ np.full(wl.shape[1], offset)
        aug[-1, -1] = 1.0
        mats.append(aug)
    w_dec, b_dec = w["w_dec"], w["b_dec"]
    aug = np.zeros((w_dec.shape[0] + 1, w_dec.shape[1] + 1))
    aug[:-1, :-1] = w_dec
    aug[:-1, -1] = b_dec + w_dec @ np.full(w_dec.shape[1], offset)
    aug[-1, -1] = 1.0
    mats.append(aug)
    dec_offset = float(dec(np.zeros(1))[0])
    out = np.zeros((m * c, m * k_out + 1))
    for i in range(m):
        for lev in range(c):
            out[i * c + lev, i * k_out:(i + 1) * k_out] = w["a_out"][lev]
            bias = w["b_out"][lev] + dec_offset * w["a_out"][lev].sum()
            if w["item_bias"] is not None:
                bias += w["item_bias"][i, lev]
            out[i * c + lev, -1] = bias
    mats.append(out)
    return mats


def naive_forward(mats: list[np.ndarray], cfg: Conv4RecConfig, x_hat: np.ndarray) -> np.ndarray:
    """Run the chain: identity after the input layer, centred activations with the carried
    constant passed through, no activation after the output layer."""
    act, dec = ACT[cfg.activation], ACT[cfg.decoder_activation]
    h = mats[0] @ x_hat
    for j, mat in enumerate(mats[1:], start=1):
        h = mat @ h
        if j == len(mats) - 1:
            return h
        fn = dec if j == len(mats) - 2 else act
        h = np.concatenate([fn(h[:-1]) - fn(np.zeros(1)), h[-1:]])
    return h


def x_hat(items, levels, m: int, n_levels: int, scaling: str) -> np.ndarray:
    """(s vec X, s, 1) of one row (docs/bounds.md §1.3)."""
    n_in = len(items)
    s = {"none": 1.0, "sqrt": 1.0 / math.sqrt(max(n_in, 1)),
         "mean": 1.0 / max(n_in, 1)}[scaling]
    x = np.zeros(m * n_levels + 2)
    for i, lev in zip(items, levels):
        x[i * n_levels + lev] = s
    x[-2], x[-1] = s, 1.0
    return x


def row_scale(n_in: int, scaling: str) -> torch.Tensor | None:
    if scaling == "none":
        return None
    k = float(max(n_in, 1))
    return torch.tensor([k ** -0.5 if scaling == "sqrt" else 1.0 / k])


# ------------------------------------------------------- naive bound formulas
def naive_golowich(*, radii, input_sq_sum, n, n_outputs, loss_range, loss_lipschitz, delta,
                   log_price=0.0):
    d = len(radii)
    rad = (1.0 / n) * (math.sqrt(2 * math.log(2) * d) + 1) * float(np.prod(radii)) \
        * math.sqrt(input_sq_sum)
    complexity = 2 * math.sqrt(2) * loss_lipschitz * n_outputs * rad
    conf = 3 * loss_range * math.sqrt((math.log(2 / delta) + log_price) / (2 * n))
    return complexity + conf


def naive_dudley(*, radius, log_width, n_layers, n):
    return 4 / n + 12 / n * math.sqrt(log_width) * (
        radius * math.log(n) + math.sqrt(n_layers + 1) * (math.sqrt(n) - 1 / math.sqrt(n)))


def naive_spectral(*, spectral, l21, lipschitz, log_width, input_sq_sum, n, loss_range,
                   loss_lipschitz, delta, log_price=0.0):
    s, a = np.asarray(spectral, float), np.asarray(l21, float)
    radius = (loss_lipschitz / loss_range) * math.sqrt(input_sq_sum) * np.prod(lipschitz) \
        * np.prod(s) * np.sum((a / s) ** (2 / 3)) ** 1.5
    rad = naive_dudley(radius=radius, log_width=log_width, n_layers=len(s), n=n)
    conf = 3 * loss_range * math.sqrt((math.log(2 / delta) + log_price) / (2 * n))
    return 2 * loss_range * rad + conf
