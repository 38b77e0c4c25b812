"""Gradient-trained baselines: biased MF, I-AutoRec, Mult-VAE.

Each holds out ``validation_fraction`` of every training user's interactions (the same rule as
Conv4Rec) and keeps the weights of the epoch with the best validation score (RMSE for the rating
models, NDCG@100 for Mult-VAE), stopping after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from conv4rec.baselines._base import (
    Baseline,
    BaselineConfig,
    binary_matrix,
    check,
    validation_mask,
)
from conv4rec.data import Interactions
from conv4rec.seeding import SeedLike, seed_sequence, torch_generator


def _check_training(owner: str, cfg) -> None:
    for f in ("epochs", "batch_size"):
        check(getattr(cfg, f) >= 1, owner, f, getattr(cfg, f), "expected an integer >= 1")
    check(cfg.lr > 0, owner, "lr", cfg.lr, "expected > 0")
    check(0 <= cfg.validation_fraction < 1, owner, "validation_fraction",
          cfg.validation_fraction, "expected 0 <= value < 1")
    check(cfg.patience >= 0, owner, "patience", cfg.patience, "expected >= 0")


class _EarlyStopping:
    """Keeps the state of the best epoch (lower is better)."""

    def __init__(self, patience: int) -> None:
        self.patience, self.best, self.best_epoch, self.state = patience, math.inf, 0, None

    def update(self, epoch: int, value: float, module: nn.Module) -> bool:
        """Record an epoch; True when training should stop."""
        if value < self.best - 1e-6:
            self.best, self.best_epoch = value, epoch
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            return False
        return self.patience > 0 and epoch - self.best_epoch >= self.patience

    def restore(self, module: nn.Module) -> None:
        if self.state is not None:
            module.load_state_dict(self.state)


# --------------------------------------------------------------------------- biased MF
@dataclass(frozen=True, kw_only=True)
class BiasedMFConfig(BaselineConfig):
    """r_ui ~ mu + b_u + b_i + <p_u, q_i> (Koren et al. 2009), mini-batch Adam.

    ``reg`` is the per-rating L2 penalty on the factors and biases of the rating's user and item.
    """

    dim: int = 32
    reg: float = 0.05
    lr: float = 5e-3
    batch_size: int = 1024
    epochs: int = 100
    patience: int = 5
    validation_fraction: float = 0.05
    init_std: float = 0.05

    def __post_init__(self) -> None:
        check(self.dim >= 1, "BiasedMFConfig", "dim", self.dim, "expected >= 1")
        check(self.reg >= 0, "BiasedMFConfig", "reg", self.reg, "expected >= 0")
        _check_training("BiasedMFConfig", self)


class _MF(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, mean: float) -> None:
        super().__init__()
        self.p, self.q = nn.Embedding(n_users, dim), nn.Embedding(n_items, dim)
        self.bu, self.bi = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
        self.register_buffer("mean", torch.tensor(float(mean)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Shape: users, items (n,) -> (n,)."""
        return (self.mean + self.bu(users)[:, 0] + self.bi(items)[:, 0]
                + (self.p(users) * self.q(items)).sum(-1))


class BiasedMF(Baseline):
    """Biased matrix factorisation trained by mini-batch Adam with early stopping."""

    name = "biased_mf"
    config_class = BiasedMFConfig
    explicit = True

    def fit(self, train: Interactions, *, generator: SeedLike) -> Self:
        cfg = self.config
        s_init, s_val, s_order = seed_sequence(generator).spawn(3)
        self.levels_ = train.levels
        val = validation_mask(train, cfg.validation_fraction, s_val)
        fit = ~val
        users = torch.as_tensor(train.user)
        items = torch.as_tensor(train.item)
        rating = torch.as_tensor(train.rating, dtype=torch.float32)
        model = _MF(train.n_users, train.n_items, cfg.dim, float(train.rating[fit].mean()))
        gen = torch_generator(s_init)
        with torch.no_grad():
            for emb in (model.p, model.q):
                emb.weight.normal_(0.0, cfg.init_std, generator=gen)
            model.bu.weight.zero_()
            model.bi.weight.zero_()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        fit_idx, val_idx = np.flatnonzero(fit), np.flatnonzero(val)
        rng = np.random.default_rng(s_order)
        stop = _EarlyStopping(cfg.patience)
        for epoch in range(1, cfg.epochs + 1):
            for b in np.array_split(rng.permutation(fit_idx),
                                    max(1, len(fit_idx) // cfg.batch_size)):
                u, i = users[b], items[b]
                err = model(u, i) - rating[b]
                penalty = (model.p(u).square().sum(-1) + model.q(i).square().sum(-1)
                           + model.bu(u)[:, 0].square() + model.bi(i)[:, 0].square())
                loss = (err.square() + cfg.reg * penalty).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if len(val_idx):
                with torch.no_grad():
                    pred = model(users[val_idx], items[val_idx]).clamp(
                        float(self.levels_[0]), float(self.levels_[-1]))
                    val_rmse = (pred - rating[val_idx]).square().mean().sqrt().item()
                if stop.update(epoch, val_rmse, model):
                    break
        stop.restore(model)
        self.model_ = model.eval()
        self.best_epoch_ = stop.best_epoch or cfg.epochs
        return self

    @torch.no_grad()
    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        pred = self.model_(torch.as_tensor(np.asarray(users, np.int64)),
                           torch.as_tensor(np.asarray(items, np.int64)))
        return self._clip(pred.double().numpy())


# --------------------------------------------------------------------------- I-AutoRec
@dataclass(frozen=True, kw_only=True)
class IAutoRecConfig(BaselineConfig):
    """I-AutoRec (Sedhain et al. 2015): h = sigmoid(V r_i + b), r_hat = W h + c over items.

    ``l2`` is lambda of the objective sum_i ||r_i - r_hat_i||^2_observed + lambda/2 (||W||^2 +
    ||V||^2); the paper used 500 hidden units.
    """

    hidden: int = 500
    l2: float = 1.0
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 300
    patience: int = 10
    validation_fraction: float = 0.05

    def __post_init__(self) -> None:
        check(self.hidden >= 1, "IAutoRecConfig", "hidden", self.hidden, "expected >= 1")
        check(self.l2 >= 0, "IAutoRecConfig", "l2", self.l2, "expected >= 0")
        _check_training("IAutoRecConfig", self)


class IAutoRec(Baseline):
    """Item-based AutoRec: each item's column of observed ratings is encoded and decoded."""

    name = "i_autorec"
    config_class = IAutoRecConfig
    explicit = True

    def fit(self, train: Interactions, *, generator: SeedLike) -> Self:
        cfg = self.config
        s_init, s_val, s_order = seed_sequence(generator).spawn(3)
        self.levels_ = train.levels
        val = validation_mask(train, cfg.validation_fraction, s_val)
        fit = ~val
        n_users, n_items = train.n_users, train.n_items
        # Rows are items: inputs/targets over users.
        r = torch.zeros(n_items, n_users)
        r[train.item[fit], train.user[fit]] = torch.as_tensor(train.rating[fit],
                                                              dtype=torch.float32)
        mask = torch.zeros(n_items, n_users)
        mask[train.item[fit], train.user[fit]] = 1.0
        gen = torch_generator(s_init)
        enc, dec = nn.Linear(n_users, cfg.hidden), nn.Linear(cfg.hidden, n_users)
        with torch.no_grad():
            for layer in (enc, dec):
                bound = 1.0 / math.sqrt(layer.weight.shape[1])
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.zero_()
            dec.bias.fill_(float(train.rating[fit].mean()))  # start from the global mean
        model = nn.Sequential(enc, nn.Sigmoid(), dec)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        rng = np.random.default_rng(s_order)
        val_i, val_u = train.item[val], train.user[val]
        val_r = torch.as_tensor(train.rating[val], dtype=torch.float32)
        active = np.flatnonzero(mask.sum(1).numpy() > 0)
        stop = _EarlyStopping(cfg.patience)
        n_batches = max(1, len(active) // cfg.batch_size)
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            for b in np.array_split(rng.permutation(active), n_batches):
                out = model(r[b])
                sq = ((out - r[b]).square() * mask[b]).sum()
                reg = 0.5 * cfg.l2 * (enc.weight.square().sum() + dec.weight.square().sum())
                loss = (sq + reg * len(b) / len(active)) / mask[b].sum().clamp(min=1)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if len(val_r):
                with torch.no_grad():
                    full = model(r)
                    pred = full[val_i, val_u].clamp(float(self.levels_[0]),
                                                    float(self.levels_[-1]))
                    val_rmse = (pred - val_r).square().mean().sqrt().item()
                if stop.update(epoch, val_rmse, model):
                    break
        stop.restore(model)
        self.model_ = model.eval()
        self.best_epoch_ = stop.best_epoch or cfg.epochs
        # The validation ratings go back in as inputs when predicting (as Conv4Rec does).
        r[train.item[val], train.user[val]] = val_r
        with torch.no_grad():
            self.reconstruction_ = model(r)  # (n_items, n_users)
        return self

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        pred = self.reconstruction_[np.asarray(items), np.asarray(users)]
        return self._clip(pred.double().numpy())


# ---------------------------------------------------------------------------- Mult-VAE
@dataclass(frozen=True, kw_only=True)
class MultVAEConfig(BaselineConfig):
    """Mult-VAE (Liang et al. 2018): [m -> 600 -> 200 -> 600 -> m], tanh, multinomial
    likelihood, input dropout 0.5, KL weight annealed linearly to ``anneal_cap`` over
    ``anneal_epochs`` epochs."""

    hidden: int = 600
    latent: int = 200
    dropout: float = 0.5
    anneal_cap: float = 0.2
    anneal_epochs: int = 50
    weight_decay: float = 0.0
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 200
    patience: int = 20
    validation_fraction: float = 0.1

    def __post_init__(self) -> None:
        for f in ("hidden", "latent", "anneal_epochs"):
            check(getattr(self, f) >= 1, "MultVAEConfig", f, getattr(self, f), "expected >= 1")
        check(0 <= self.dropout < 1, "MultVAEConfig", "dropout", self.dropout,
              "expected 0 <= value < 1")
        check(self.anneal_cap >= 0, "MultVAEConfig", "anneal_cap", self.anneal_cap,
              "expected >= 0")
        _check_training("MultVAEConfig", self)


class MultVAENetwork(nn.Module):
    """The Mult-VAE network of Liang et al. (2018): L2-normalised input, input dropout, tanh
    layers [m -> hidden -> 2 * latent (mean, log-variance)], a latent -> hidden -> m decoder.
    Shared by the benchmark baseline and the simulations' item-only baseline."""

    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        self.enc, self.enc_out = nn.Linear(n_items, hidden), nn.Linear(hidden, 2 * latent)
        self.dec, self.dec_out = nn.Linear(latent, hidden), nn.Linear(hidden, n_items)

    def layers(self) -> tuple[nn.Linear, ...]:
        return self.enc, self.enc_out, self.dec, self.dec_out

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Item logits and KL(q(z|x) || N(0, I)) of a batch of (count or 0/1) rows; the code is
        sampled in training mode, its mean otherwise.

        Shape:
            x: (B, m); output: (B, m) logits, (B,) KL.
        """
        h = F.normalize(x, dim=1)
        if self.training and self.dropout > 0:
            keep = torch.rand(h.shape, generator=generator) >= self.dropout
            h = h * keep / (1 - self.dropout)
        mu, logvar = self.enc_out(torch.tanh(self.enc(h))).chunk(2, dim=1)
        z = mu
        if self.training:
            z = mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)
        kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(dim=1)
        return self.dec_out(torch.tanh(self.dec(z))), kl


class MultVAE(Baseline):
    """Mult-VAE over the binary user x item matrix; ranks by the decoder's logits.

    Early stopping watches NDCG@100 of the held-out validation interactions.
    """

    name = "mult_vae"
    config_class = MultVAEConfig
    ranking = True
    fold_in = True

    def fit(self, train: Interactions, *, generator: SeedLike) -> Self:
        from conv4rec.evaluation import ranking_per_user

        cfg = self.config
        s_init, s_val, s_order = seed_sequence(generator).spawn(3)
        self.levels_ = train.levels
        val = validation_mask(train, cfg.validation_fraction, s_val)
        fit_part, val_part = train.subset(~val), train.subset(val)
        x = torch.as_tensor(binary_matrix(fit_part).toarray())
        gen = torch_generator(s_init)
        model = MultVAENetwork(train.n_items, cfg.hidden, cfg.latent, cfg.dropout)
        with torch.no_grad():
            for layer in model.layers():
                std = math.sqrt(2.0 / sum(layer.weight.shape))  # Xavier, as Liang et al.
                layer.weight.normal_(0.0, std, generator=gen)
                layer.bias.normal_(0.0, 0.001, generator=gen)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng(s_order)
        active = np.flatnonzero(x.sum(1).numpy() > 0)
        stop = _EarlyStopping(cfg.patience)
        n_batches = max(1, len(active) // cfg.batch_size)
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            anneal = min(cfg.anneal_cap, cfg.anneal_cap * epoch / cfg.anneal_epochs)
            for b in np.array_split(rng.permutation(active), n_batches):
                logits, kl = model(x[b], gen)
                nll = -(F.log_softmax(logits, -1) * x[b]).sum(-1)
                loss = (nll + anneal * kl).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if val_part.n_observed:
                model.eval()
                self.model_, self.inputs_ = model, x
                ndcg = ranking_per_user(self.score_items, fit_part, val_part, recall_ks=(),
                                        ndcg_ks=(100,)).means()["ndcg@100"]
                if stop.update(epoch, -ndcg, model):
                    break
        stop.restore(model)
        self.model_ = model.eval()
        self.best_epoch_ = stop.best_epoch or cfg.epochs
        self.inputs_ = torch.as_tensor(binary_matrix(train).toarray())
        return self

    @torch.no_grad()
    def score_items(self, users: np.ndarray, inputs: Interactions | None = None
                    ) -> torch.Tensor:
        x = (self.inputs_[np.asarray(users)] if inputs is None
             else torch.as_tensor(binary_matrix(inputs)[np.asarray(users)].toarray()))
        return self.model_(x)[0]
