"""Separable recurrent multi-graph CNN, sRMGCNN (Monti, Bronstein & Bresson, NIPS 2017).

The rating matrix is factorised X = W H^T (rank r, initialised from the truncated SVD of the
centred training matrix). W is refined by T diffusion steps, each a Chebyshev graph convolution
(order p) on the user graph followed by an LSTM that outputs an increment dW; H likewise on the
item graph. The loss is the squared error on observed training ratings plus the graph Dirichlet
energies gamma (tr(W^T L_r W) + tr(H^T L_c H)), both per observed rating.

Departures from the authors' code, for a shared CPU budget: ratings are centred by the training
mean, training runs at most ``iterations`` Adam steps with early stopping on a 5 % validation
holdout, and a missing graph (Douban has no item graph) is the empty graph, so that factor is
refined without diffusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from conv4rec.baselines._base import (
    Baseline,
    BaselineConfig,
    check,
    validation_mask,
)
from conv4rec.baselines.neural import _EarlyStopping
from conv4rec.data import Interactions
from conv4rec.seeding import SeedLike, seed_sequence, torch_generator

#: dataset name -> (folder, user graph file, item graph file, raw id of node 0)
GRAPH_FILES = {
    "ml-100k": ("ml-100k-mgcnn", "graph_users.csv", "graph_movies.csv", 1),
    "douban": ("douban", "graph_users.csv", None, 0),
    "flixster": ("flixster", "graph_users.csv", "graph_movies.csv", 0),
}


def _read_graph(path: Path, ids: np.ndarray, offset: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency in the index space of ``ids`` (nodes without an id dropped)."""
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    index = {str(raw): k for k, raw in enumerate(ids.tolist())}
    src = np.array([index.get(str(int(v) + offset), -1) for v in table[:, 0]])
    dst = np.array([index.get(str(int(v) + offset), -1) for v in table[:, 1]])
    ok = (src >= 0) & (dst >= 0) & (src != dst)
    n = len(ids)
    adj = sp.csr_matrix((np.ones(ok.sum()), (src[ok], dst[ok])), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return adj.tocsr()


def load_graphs(name: str, data: Interactions, root: str | Path | None = None
                ) -> tuple[sp.csr_matrix | None, sp.csr_matrix | None]:
    """The user and item graphs of a named dataset (None where it has none).

    Raises KeyError for a dataset without graphs and FileNotFoundError when the files are
    missing under the data root (``$CONV4REC_DATA``).
    """
    from conv4rec.data import data_root

    folder, users_file, items_file, offset = GRAPH_FILES[name]
    base = Path(root) if root is not None else data_root()
    base = base / folder
    user_graph = _read_graph(base / users_file, data.user_ids, offset)
    item_graph = None if items_file is None else _read_graph(base / items_file, data.item_ids,
                                                             offset)
    return user_graph, item_graph


def _scaled_laplacian(adj: sp.csr_matrix | None, n: int) -> torch.Tensor:
    """L - I = -D^-1/2 A D^-1/2 (the normalised Laplacian rescaled by lambda_max ~ 2)."""
    if adj is None:
        return torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.int64), torch.zeros(0),
                                       (n, n), check_invariants=False).coalesce()
    deg = np.asarray(adj.sum(1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
    lap = (-sp.diags(inv) @ adj @ sp.diags(inv)).tocoo()
    idx = torch.as_tensor(np.vstack([lap.row, lap.col]), dtype=torch.int64)
    return torch.sparse_coo_tensor(idx, torch.as_tensor(lap.data, dtype=torch.float32),
                                   (n, n), check_invariants=False).coalesce()


def _dirichlet(adj: sp.csr_matrix | None, n: int) -> torch.Tensor:
    """The normalised Laplacian I - D^-1/2 A D^-1/2 (zero rows for isolated nodes), sparse."""
    scaled = _scaled_laplacian(adj, n)
    if adj is None:
        return scaled
    has_edge = torch.as_tensor(np.asarray(adj.sum(1)).ravel() > 0, dtype=torch.float32)
    diag = torch.sparse_coo_tensor(torch.arange(n).repeat(2, 1), has_edge, (n, n),
                                   check_invariants=False)
    return (scaled + diag).coalesce()


class _Diffusion(nn.Module):
    """Chebyshev graph convolution + LSTM producing increments of one factor."""

    def __init__(self, rank: int, order: int, features: int, lstm_hidden: int) -> None:
        super().__init__()
        self.order = order
        self.cheb = nn.Linear(order * rank, features)
        self.lstm = nn.LSTMCell(features, lstm_hidden)
        self.out = nn.Linear(lstm_hidden, rank)

    def basis(self, lap: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """[T_0(L~) x, ..., T_{p-1}(L~) x]. Shape: x (n, r) -> (n, p r)."""
        terms = [x]
        if self.order > 1:
            terms.append(torch.sparse.mm(lap, x))
        for _ in range(2, self.order):
            terms.append(2 * torch.sparse.mm(lap, terms[-1]) - terms[-2])
        return torch.cat(terms, dim=-1)

    def step(self, lap: torch.Tensor, x: torch.Tensor, state):
        """One diffusion step. Shape: x (n, r) -> (n, r)."""
        features = torch.relu(self.cheb(self.basis(lap, x)))
        h, c = self.lstm(features, state)
        return x + torch.tanh(self.out(h)), (h, c)


@dataclass(frozen=True, kw_only=True)
class SRMGCNNConfig(BaselineConfig):
    """Monti et al.'s ML-100K settings: rank 10, Chebyshev order 5, 32 features, LSTM 32,
    T = 10 diffusion steps, Adam 1e-3."""

    rank: int = 10
    order: int = 5
    features: int = 32
    lstm_hidden: int = 32
    diffusion_steps: int = 10
    gamma: float = 1.0
    lr: float = 1e-3
    iterations: int = 3000
    eval_every: int = 25
    patience: int = 8
    validation_fraction: float = 0.05

    def __post_init__(self) -> None:
        for f in ("rank", "order", "features", "lstm_hidden", "diffusion_steps", "iterations",
                  "eval_every"):
            check(getattr(self, f) >= 1, "SRMGCNNConfig", f, getattr(self, f), "expected >= 1")
        check(self.gamma >= 0, "SRMGCNNConfig", "gamma", self.gamma, "expected >= 0")
        check(self.lr > 0, "SRMGCNNConfig", "lr", self.lr, "expected > 0")
        check(0 <= self.validation_fraction < 1, "SRMGCNNConfig", "validation_fraction",
              self.validation_fraction, "expected 0 <= value < 1")


class SRMGCNN(Baseline):
    """Separable RMGCNN matrix completion with user and item graphs.

    Parameters
    ----------
    config : SRMGCNNConfig
    user_graph, item_graph : scipy sparse (n_users, n_users) / (n_items, n_items), optional
        0/1 adjacency in the training data's index space (see :func:`load_graphs`).
    """

    name = "srmgcnn"
    config_class = SRMGCNNConfig
    explicit = True

    def __init__(self, config: SRMGCNNConfig | None = None, *,
                 user_graph: sp.spmatrix | None = None,
                 item_graph: sp.spmatrix | None = None) -> None:
        super().__init__(config)
        self.user_graph, self.item_graph = user_graph, item_graph

    def _factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        w, h = self.w0_, self.h0_
        sw = sh = None
        for _ in range(self.config.diffusion_steps):
            w, sw = self.row_net_.step(self.lap_u_, w, sw)
            h, sh = self.col_net_.step(self.lap_i_, h, sh)
        return w, h

    def fit(self, train: Interactions, *, generator: SeedLike) -> Self:
        cfg = self.config
        s_init, s_val = seed_sequence(generator).spawn(2)
        self.levels_ = train.levels
        val = validation_mask(train, cfg.validation_fraction, s_val)
        fit = ~val
        self.mean_ = float(train.rating[fit].mean())
        n_u, n_i = train.n_users, train.n_items
        y = sp.csr_matrix((train.rating[fit] - self.mean_, (train.user[fit], train.item[fit])),
                          shape=(n_u, n_i))
        k = min(cfg.rank, min(n_u, n_i) - 1)
        u, s, vt = sp.linalg.svds(y, k=k, random_state=int(s_init.generate_state(1)[0]))
        root = np.sqrt(s)
        w0 = np.zeros((n_u, cfg.rank))
        h0 = np.zeros((n_i, cfg.rank))
        w0[:, :k], h0[:, :k] = u * root, vt.T * root
        self.w0_ = nn.Parameter(torch.as_tensor(w0, dtype=torch.float32))
        self.h0_ = nn.Parameter(torch.as_tensor(h0, dtype=torch.float32))
        gen = torch_generator(s_init)
        self.row_net_ = _Diffusion(cfg.rank, cfg.order, cfg.features, cfg.lstm_hidden)
        self.col_net_ = _Diffusion(cfg.rank, cfg.order, cfg.features, cfg.lstm_hidden)
        with torch.no_grad():
            for net in (self.row_net_, self.col_net_):
                for p in net.parameters():
                    bound = 1.0 / math.sqrt(p.shape[-1]) if p.dim() > 1 else 0.0
                    p.uniform_(-bound, bound, generator=gen) if bound else p.zero_()
                net.out.weight.mul_(0.1)  # start near the SVD solution
        self.lap_u_ = _scaled_laplacian(self.user_graph, n_u)
        self.lap_i_ = _scaled_laplacian(self.item_graph, n_i)
        dir_u, dir_i = _dirichlet(self.user_graph, n_u), _dirichlet(self.item_graph, n_i)
        params = [self.w0_, self.h0_, *self.row_net_.parameters(), *self.col_net_.parameters()]
        opt = torch.optim.Adam(params, lr=cfg.lr)
        fu, fi = torch.as_tensor(train.user[fit]), torch.as_tensor(train.item[fit])
        fr = torch.as_tensor(train.rating[fit] - self.mean_, dtype=torch.float32)
        vu, vi = torch.as_tensor(train.user[val]), torch.as_tensor(train.item[val])
        vr = torch.as_tensor(train.rating[val], dtype=torch.float32)
        modules = nn.ModuleDict({"rows": self.row_net_, "cols": self.col_net_})
        holder = nn.ParameterDict({"w0": self.w0_, "h0": self.h0_})
        stop, both = _EarlyStopping(cfg.patience), nn.ModuleList([modules, holder])
        lo, hi = float(self.levels_[0]), float(self.levels_[-1])
        for it in range(1, cfg.iterations + 1):
            w, h = self._factors()
            err = (w[fu] * h[fi]).sum(-1) - fr
            smooth = ((w * torch.sparse.mm(dir_u, w)).sum()
                      + (h * torch.sparse.mm(dir_i, h)).sum())
            loss = err.square().mean() + cfg.gamma * smooth / len(fr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if len(vr) and it % cfg.eval_every == 0:
                with torch.no_grad():
                    w, h = self._factors()
                    pred = ((w[vu] * h[vi]).sum(-1) + self.mean_).clamp(lo, hi)
                    val_rmse = (pred - vr).square().mean().sqrt().item()
                if stop.update(it // cfg.eval_every, val_rmse, both):
                    break
        stop.restore(both)
        with torch.no_grad():
            self.w_, self.h_ = self._factors()
        self.best_iteration_ = stop.best_epoch * cfg.eval_every
        return self

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        pred = (self.w_[users] * self.h_[items]).sum(-1).double().numpy() + self.mean_
        return self._clip(pred)
