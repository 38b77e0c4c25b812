"""The Conv4Rec estimator: sklearn-style ``fit`` / ``predict_*`` / ``save`` / ``load``."""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import torch
from tqdm.auto import tqdm

from conv4rec import __version__
from conv4rec.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from conv4rec.config import Conv4RecConfig
from conv4rec.data import DataError, Interactions, per_user_holdout_mask
from conv4rec.loss import ColumnL2, interaction_losses, per_row_mean
from conv4rec.model import Conv4Rec, joint_log_softmax
from conv4rec.predict import expected_rating
from conv4rec.seeding import SeedLike, seed_sequence, torch_generator

logger = logging.getLogger(__name__)

#: The uniform mixing used for the losses recorded in checkpoints (the bounded loss of SPEC §3).
REPORT_ETA = 1e-4


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss became NaN)."""


@dataclass(frozen=True)
class RowData:
    """Interactions grouped by row (CSR layout) in the model's orientation, sorted by
    (row, item, level) so that repeated draws of one cell are adjacent."""

    indptr: np.ndarray
    items: np.ndarray
    levels: np.ndarray
    has_repeats: bool = False

    @staticmethod
    def order(data: Interactions) -> np.ndarray:
        """The permutation of ``data`` into RowData's order."""
        return np.lexsort((data.level, data.item, data.user))

    @classmethod
    def from_interactions(cls, data: Interactions) -> RowData:
        order = cls.order(data)
        indptr = np.zeros(data.n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(data.user, minlength=data.n_users), out=indptr[1:])
        user, item, level = data.user[order], data.item[order], data.level[order]
        repeats = bool(np.any((user[1:] == user[:-1]) & (item[1:] == item[:-1])
                              & (level[1:] == level[:-1])))
        return cls(indptr, item, level, repeats)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    def distinct_counts(self) -> np.ndarray:
        """Distinct (item, level) cells of each row: ||vec X_u||^2 of the 0/1 input."""
        if not self.has_repeats:
            return self.counts
        row = np.repeat(np.arange(len(self.counts)), self.counts)
        new = np.ones(len(row), bool)
        new[1:] = ((row[1:] != row[:-1]) | (self.items[1:] != self.items[:-1])
                   | (self.levels[1:] != self.levels[:-1]))
        return np.bincount(row[new], minlength=len(self.counts))

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the interactions of ``rows`` and each one's batch row (vectorised)."""
        starts, counts = self.indptr[rows], self.counts[rows]
        batch_row = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(starts, counts) + offsets, batch_row


def _state_mismatch(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]
                    ) -> str | None:
    """The first difference between a model's state dict and a checkpoint's, in words."""
    for name, tensor in expected.items():
        if name not in got:
            return f"tensor {name!r} is missing"
        if tuple(got[name].shape) != tuple(tensor.shape):
            return (f"tensor {name!r} has shape {tuple(got[name].shape)}, the metadata implies "
                    f"{tuple(tensor.shape)}")
    extra = sorted(set(got) - set(expected))
    return f"unexpected tensor {extra[0]!r}" if extra else None


def _row_scale(counts: torch.Tensor, scaling: str) -> torch.Tensor | None:
    if scaling == "none":
        return None
    counts = counts.clamp(min=1).to(torch.float32)
    return counts.rsqrt() if scaling == "sqrt" else 1.0 / counts


class Conv4RecEstimator:
    """Fit Conv4Rec on interactions and predict from it.

    Parameters
    ----------
    config : Conv4RecConfig
        Model, loss and training settings.
    device : str
        Torch device ("cpu", "cuda").
    progress : bool
        Show a tqdm progress bar over epochs (only when stderr is a terminal).

    Attributes (after ``fit``)
    --------------------------
    model_ : Conv4Rec
    levels_ : ndarray, the rating scale.
    train_data_ : Interactions, the fitted interactions (dataset orientation).
    history_ : list of dict, one per epoch.
    initial_state_ : dict, the weights before training (the bounds use distances to them).
    """

    refine_steps_ = 0  # refinement steps used when predicting (set by fit and load)

    def __init__(self, config: Conv4RecConfig | None = None, *, device: str = "cpu",
                 progress: bool = True) -> None:
        self.config = config or Conv4RecConfig()
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------ orientation
    def _rows_view(self, data: Interactions) -> Interactions:
        return data.transpose() if self.config.orientation == "item" else data

    # -------------------------------------------------------------- batches
    def _forward(self, rows_data: RowData, rows: np.ndarray, input_mask: np.ndarray | None,
                 generator: torch.Generator | None = None, refine_steps: int = 0
                 ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        """Logits of a batch of rows given the interactions kept by ``input_mask``, the codes
        refined by ``refine_steps`` steps first (see ``Conv4RecConfig.refine_steps``).

        Returns the logits (B, m, C), the positions of the batch's interactions in
        ``rows_data`` and their batch row.
        """
        in_rows, in_items, in_levels, scale, pos, batch_row = self._inputs(rows_data, rows,
                                                                           input_mask)
        if not refine_steps:
            logits = self.model_(in_rows, in_items, in_levels, len(rows), scale, generator)
            return logits, pos, batch_row
        codes = self.model_.encode(in_rows, in_items, in_levels, len(rows), scale)
        codes = self._refined_codes(codes, in_rows, in_items, in_levels, refine_steps)[-1]
        return self.model_.decode(codes), pos, batch_row

    def _inputs(self, rows_data: RowData, rows: np.ndarray, input_mask: np.ndarray | None):
        """The input interactions of a batch of rows in COO form (batch row, item, level), the
        rows' input scaling, and the positions of the batch's interactions with their batch row.
        """
        pos, batch_row = rows_data.gather(rows)
        keep = np.ones(len(pos), bool) if input_mask is None else input_mask[pos]
        if rows_data.has_repeats:
            # X_u is 0/1 (SPEC §1): a cell drawn several times is one input (it stays a
            # target as many times as it was drawn)
            kept = np.flatnonzero(keep)
            p = pos[kept]
            same = ((batch_row[kept][1:] == batch_row[kept][:-1])
                    & (rows_data.items[p][1:] == rows_data.items[p][:-1])
                    & (rows_data.levels[p][1:] == rows_data.levels[p][:-1]))
            keep[kept[1:][same]] = False
        dev = self.device
        in_rows = torch.as_tensor(batch_row[keep], device=dev)
        in_items = torch.as_tensor(rows_data.items[pos][keep], device=dev)
        in_levels = torch.as_tensor(rows_data.levels[pos][keep], device=dev)
        n_in = torch.bincount(in_rows, minlength=len(rows))
        scale = _row_scale(n_in, self.config.input_scaling)
        return in_rows, in_items, in_levels, scale, pos, batch_row

    def _refined_codes(self, codes: torch.Tensor, rows: torch.Tensor, items: torch.Tensor,
                       levels: torch.Tensor, steps: int) -> list[torch.Tensor]:
        """The codes after 0, 1, ..., ``steps`` Adam steps on the loss of each row's own input
        interactions (MAP fold-in), the network fixed. Each row's loss is summed, not averaged
        over the batch, so a row's refinement does not depend on the other rows of its batch."""
        cfg = self.config
        alpha = cfg.alpha if cfg.refine_alpha is None else cfg.refine_alpha
        out = [codes]
        with torch.enable_grad():
            z = codes.detach().clone().requires_grad_(True)
            optimizer = torch.optim.Adam([z], lr=cfg.refine_lr)
            for _ in range(steps):
                loss = interaction_losses(self.model_.decode(z), rows, items, levels,
                                          alpha=alpha, beta=cfg.beta).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward(inputs=[z])
                optimizer.step()
                out.append(z.detach().clone())
        return out

    def _batch_loss(self, rows_data: RowData, rows: np.ndarray, input_mask: np.ndarray | None,
                    target_mask: np.ndarray | None, generator: torch.Generator | None = None,
                    eta: float | None = None, per_row: bool = False) -> torch.Tensor:
        logits, pos, batch_row = self._forward(rows_data, rows, input_mask, generator)
        sel = slice(None) if target_mask is None else target_mask[pos]
        t_rows = torch.as_tensor(batch_row[sel], device=self.device)
        losses = interaction_losses(
            logits, t_rows, torch.as_tensor(rows_data.items[pos][sel], device=self.device),
            torch.as_tensor(rows_data.levels[pos][sel], device=self.device),
            alpha=self.config.alpha, beta=self.config.beta,
            eta=self.config.eta if eta is None else eta)
        if per_row:
            return per_row_mean(losses, t_rows, len(rows))
        return losses.mean() if len(losses) else logits.sum() * 0.0

    # ------------------------------------------------------------------ fit
    def fit(self, data: Interactions, *, generator: SeedLike) -> Self:
        """Train on ``data``.

        Parameters
        ----------
        data : Interactions
            Training interactions; a share ``validation_fraction`` of each row's interactions is
            held out for early stopping (used again as inputs when predicting).
        generator : int or numpy.random.SeedSequence
            Root seed: initialisation, validation split, masks, batch order and dropout draw
            from independent streams spawned from it.
        """
        cfg = self.config
        if data.n_observed == 0:
            raise DataError(f"{data.source}: no training interactions")
        seed_init, seed_split, seed_epochs, seed_dropout = seed_sequence(generator).spawn(4)
        view = self._rows_view(data)
        rows_data = RowData.from_interactions(view)
        n_cols, n_levels = view.n_items, view.n_levels

        self.model_ = Conv4Rec(n_cols, n_levels, cfg).to(self.device)
        self.model_.reset_parameters(torch_generator(seed_init, "cpu"))
        self.initial_state_ = {k: v.detach().clone() for k, v in self.model_.state_dict().items()}
        self.levels_ = data.levels.copy()
        self.train_data_ = data
        self._rows_data = rows_data

        # Validation: held-out interactions of training rows, in RowData order.
        split_rng = np.random.default_rng(seed_split)
        ordered = view.subset(RowData.order(view))
        if cfg.validation_fraction > 0 and cfg.patience > 0:
            val_mask = per_user_holdout_mask(ordered, cfg.validation_fraction, rng=split_rng)
        else:
            val_mask = np.zeros(ordered.n_observed, dtype=bool)
        fit_mask = ~val_mask
        active_rows = np.flatnonzero(rows_data.counts > 0)
        val_rows = np.unique(ordered.user[val_mask])

        # fused: one kernel per step instead of a dozen per parameter (same numbers)
        optimizer = torch.optim.AdamW(self.model_.parameters(), lr=cfg.lr,
                                      weight_decay=cfg.weight_decay, fused=True)
        epoch_rng = np.random.default_rng(seed_epochs)
        dropout_gen = torch_generator(seed_dropout, self.device)
        drops_left = cfg.lr_drops
        params = list(self.model_.parameters())
        # Polyak averaging: validation, early stopping and the result use the averaged weights
        averaged = [p.detach().clone() for p in params] if cfg.weight_average else None
        self.history_: list[dict] = []
        # (best monitored value, its weights, its epoch); patience counts from `since`, the
        # later of the best epoch and the last learning-rate drop
        best = (math.inf, None, -1)
        since = -1
        show = self.progress and sys.stderr.isatty()
        bar = tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=not show, leave=False)
        for epoch in bar:
            start = time.perf_counter()
            self.model_.train()
            draw = epoch_rng.random(ordered.n_observed)
            if cfg.target == "masked":
                target_mask = fit_mask & (draw < cfg.target_fraction)
                input_mask = fit_mask & ~target_mask
            else:
                target_mask = fit_mask
                input_mask = fit_mask & (draw >= cfg.input_dropout)
            order = epoch_rng.permutation(active_rows)
            total, count = 0.0, 0
            for b in range(0, len(order), cfg.batch_size):
                rows = order[b:b + cfg.batch_size]
                loss = self._batch_loss(rows_data, rows, input_mask, target_mask, dropout_gen)
                objective = loss
                if cfg.column_l2 > 0:
                    objective = loss + ColumnL2.apply(cfg.column_l2,
                                                      *self.model_.column_parameters())
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"loss became {loss.item()} at epoch {epoch + 1}, batch "
                        f"{b // cfg.batch_size + 1}: lower the learning rate (lr={cfg.lr}) "
                        f"or raise weight_decay")
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                if averaged is not None:
                    with torch.no_grad():
                        torch._foreach_lerp_(averaged, params, 1.0 - cfg.weight_average)
                total += loss.item() * len(rows)
                count += len(rows)
            record = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
                      "lr": optimizer.param_groups[0]["lr"]}
            live = None
            if averaged is not None:  # evaluate (and keep, if best) the averaged weights
                live = [p.detach().clone() for p in params]
                with torch.no_grad():
                    torch._foreach_copy_(params, averaged)
            if len(val_rows):
                record.update(self._validation(rows_data, val_rows, fit_mask, val_mask)[0])
            record["seconds"] = time.perf_counter() - start
            record["norms"] = self.layer_norms()
            self.history_.append(record)
            bar.set_postfix({k: f"{v:.4f}" for k, v in record.items()
                             if k in ("train_loss", "val_loss", "val_rmse")})
            logger.info("epoch %d %s", epoch + 1, record)
            if len(val_rows):
                watched = record["val_" + cfg.monitor]
                if watched < best[0] - 1e-6:
                    state = {k: v.detach().clone() for k, v in self.model_.state_dict().items()}
                    best = (watched, state, epoch + 1)
                    since = epoch + 1
            if live is not None:
                with torch.no_grad():
                    torch._foreach_copy_(params, live)
            if len(val_rows) and since != epoch + 1:
                if epoch + 1 - since >= cfg.patience:
                    if not drops_left:
                        break
                    # go back to the best weights and go on with a 10x smaller step
                    drops_left -= 1
                    self.model_.load_state_dict(best[1])
                    if averaged is not None:
                        with torch.no_grad():
                            torch._foreach_copy_(averaged, params)
                    for group in optimizer.param_groups:
                        group["lr"] /= 10.0
                    since = epoch + 1
        bar.close()
        if best[1] is not None:
            self.model_.load_state_dict(best[1])
        elif averaged is not None:  # no validation: the last averaged weights
            with torch.no_grad():
                torch._foreach_copy_(params, averaged)
        self.best_epoch_ = best[2] if best[1] is not None else len(self.history_)
        self._validation_split = (val_rows, fit_mask, val_mask)
        self.model_.fold_shared_weights()
        self.refine_steps_, self.refine_curve_ = 0, []
        if cfg.refine_steps and len(val_rows):
            self.refine_curve_ = self._validation(rows_data, val_rows, fit_mask, val_mask,
                                                  cfg.refine_steps)
            self.refine_steps_ = int(np.argmin([c["val_" + cfg.monitor]
                                                for c in self.refine_curve_]))
        self.model_.eval()
        return self

    @torch.no_grad()
    def _validation(self, rows_data: RowData, val_rows: np.ndarray, fit_mask: np.ndarray,
                    val_mask: np.ndarray, refine_steps: int = 0) -> list[dict[str, float]]:
        """Loss and RMSE of the held-out interactions predicted from the others: one entry per
        number of refinement steps, 0 to ``refine_steps``."""
        self.model_.eval()
        n = refine_steps + 1
        losses, sq_err, n_err = [[] for _ in range(n)], np.zeros(n), 0
        for b in range(0, len(val_rows), 256):
            rows = val_rows[b:b + 256]
            in_rows, in_items, in_levels, scale, pos, batch_row = self._inputs(rows_data, rows,
                                                                               fit_mask)
            codes = self.model_.encode(in_rows, in_items, in_levels, len(rows), scale)
            sel = val_mask[pos]
            t_rows = torch.as_tensor(batch_row[sel], device=self.device)
            t_items = torch.as_tensor(rows_data.items[pos][sel], device=self.device)
            t_levels = rows_data.levels[pos][sel]
            for k, z in enumerate(self._refined_codes(codes, in_rows, in_items, in_levels,
                                                      refine_steps)):
                logits = self.model_.decode(z)
                losses[k].append(interaction_losses(
                    logits, t_rows, t_items, torch.as_tensor(t_levels, device=self.device),
                    alpha=self.config.alpha, beta=self.config.beta))
                log_q = joint_log_softmax(logits)[t_rows, t_items][:, None, :]
                pred = expected_rating(log_q, self.levels_)[:, 0].cpu().numpy()
                sq_err[k] += float(((pred - self.levels_[t_levels]) ** 2).sum())
            n_err += len(t_levels)
        self.model_.train()
        return [{"val_loss": torch.cat(losses[k]).mean().item(),
                 "val_rmse": math.sqrt(sq_err[k] / max(n_err, 1))} for k in range(n)]

    # ---------------------------------------------------------- inspection
    @torch.no_grad()
    def layer_norms(self) -> dict[str, dict[str, float]]:
        """Frobenius norm of each weight matrix and its distance to the initial weights."""
        out = {}
        for name, param in self.model_.state_dict().items():
            if name.endswith("weight"):
                init = self.initial_state_[name].to(param.device)
                out[name] = {"fro": param.double().norm().item(),
                             "fro_dist": (param - init).double().norm().item()}
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("this Conv4RecEstimator is not fitted: call fit() or load()")

    # ---------------------------------------------------------- predictions
    @torch.no_grad()
    def predict_log_proba(self, users: np.ndarray | None = None, *,
                          profiles: Interactions | None = None,
                          batch_size: int = 256) -> torch.Tensor:
        """log q_u(i, c) for users (indices; all when None), from their input profiles.

        The profiles are the training interactions, or ``profiles`` (interactions of new users
        over the same items and levels: fold-in without retraining, user orientation only).

        In the item orientation the network gives q_i(u, c); the user's distribution is then
        q_u(i, c) proportional to q_i(u, c) * n_i (Bayes' rule with the item's share n_i of the
        training interactions), normalised over (i, c).

        Shape:
            output: (n_selected_users, n_items, n_levels), ``exp`` sums to 1 per user.
        """
        self._check_fitted()
        self.model_.eval()
        data = self.train_data_ if profiles is None else self._check_profiles(profiles)
        users = np.arange(data.n_users) if users is None else np.asarray(users, dtype=np.int64)
        cold = torch.as_tensor(self.cold_columns(), device=self.device)  # once, not per batch
        if self.config.orientation == "user":
            rows_data = self._rows_data if profiles is None else RowData.from_interactions(data)
            parts = [self._fill_cold_columns(joint_log_softmax(self._forward(
                rows_data, users[b:b + batch_size], None, refine_steps=self.refine_steps_)[0]
            ), cold).cpu() for b in range(0, len(users), batch_size)]
            return torch.cat(parts) if parts else torch.empty(0, data.n_items, data.n_levels)
        # item orientation: rows are items, columns users
        n_items = data.n_items
        out = torch.empty(len(users), n_items, data.n_levels)
        item_counts = torch.as_tensor(self._rows_data.counts, dtype=torch.float32)
        log_share = torch.log(item_counts.clamp(min=1))
        for b in range(0, n_items, batch_size):
            rows = np.arange(b, min(b + batch_size, n_items))
            log_q = self._fill_cold_columns(joint_log_softmax(self._forward(
                self._rows_data, rows, None, refine_steps=self.refine_steps_)[0]), cold).cpu()
            out[:, rows, :] = log_q[:, users, :].permute(1, 0, 2) + log_share[rows, None]
        flat = out.view(len(users), -1)
        return (flat - torch.logsumexp(flat, dim=-1, keepdim=True)).view_as(out)

    def cold_columns(self) -> np.ndarray:
        """Columns of the network without a training interaction: items in the user
        orientation, users in the item one. Boolean, shape (n_cols,)."""
        self._check_fitted()
        return np.bincount(self._rows_data.items, minlength=self.model_.n_items) == 0

    @staticmethod
    def _fill_cold_columns(log_q: torch.Tensor, cold: torch.Tensor) -> torch.Tensor:
        """``log_q`` (rows, columns, levels) with the rating distribution p(c | column) of each
        cold column (``cold``: boolean over the columns, from :meth:`cold_columns`; no training
        interaction, so the loss never trained its output weights: they are their random
        initialisation, shrunk only by weight decay or the column L2 penalty) replaced by the
        row's level profile over its trained columns, p(c) = sum_j q(j, c) / sum_j q(j); the
        consumption q(column) = sum_c q(column, c) is the network's, so each row still sums to
        one. In the user orientation a new item gets the user's rating profile; in the item
        orientation a user without training ratings gets the item's."""
        if not cold.any():
            return log_q
        log_consume = torch.logsumexp(log_q[:, cold], dim=-1, keepdim=True)
        profile = torch.logsumexp(log_q[:, ~cold], dim=1)  # (rows, levels)
        profile = profile - torch.logsumexp(profile, dim=-1, keepdim=True)
        out = log_q.clone()
        out[:, cold] = log_consume + profile[:, None, :]
        return out

    def _check_profiles(self, profiles: Interactions) -> Interactions:
        if self.config.orientation != "user":
            raise ValueError("fold-in of new users needs orientation='user' (in the item "
                             "orientation a user is a column of the network)")
        train = self.train_data_
        if profiles.n_items != train.n_items or not np.array_equal(profiles.levels,
                                                                   train.levels):
            raise DataError(f"{profiles.source}: fold-in profiles must use the model's "
                            f"{train.n_items} items and levels {train.levels.tolist()}, got "
                            f"{profiles.n_items} items and levels {profiles.levels.tolist()}")
        return profiles

    def _user_batches(self, users: np.ndarray) -> int:
        """Users per prediction batch: in the item orientation every batch needs a pass over all
        items, so take as many users as fit in about 1 GB of float32 log-probabilities."""
        if self.config.orientation == "user":
            return 512
        per_user = self.train_data_.n_items * self.train_data_.n_levels * 4
        return max(1, min(len(users), (1 << 30) // per_user))

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Expected rating sum_c v_c p_u(c | i) of each (user, item) index pair."""
        return self._ratings(users, items, with_scores=False)[0]

    def predict_ratings_and_scores(self, users: np.ndarray, items: np.ndarray
                                   ) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        """The expected ratings of (user, item) index pairs and, from the same pass of the
        network (one refinement, when it is on), the ranking scores log q_u(i) of every item
        for each distinct user.

        Returns ``(ratings, distinct_users, scores)``; ``scores[k]`` belongs to
        ``distinct_users[k]`` (sorted).

        Shape:
            ratings: (len(users),); distinct_users: (U,); scores: (U, n_items).
        """
        return self._ratings(users, items, with_scores=True)

    def _ratings(self, users: np.ndarray, items: np.ndarray, *, with_scores: bool
                 ) -> tuple[np.ndarray, np.ndarray, torch.Tensor | None]:
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        unique, inverse = np.unique(users, return_inverse=True)
        ratings = np.empty(len(users))
        # the scores are (U, n_items): built only when asked for (large for big catalogues)
        scores = torch.empty(len(unique), self.train_data_.n_items) if with_scores else None
        step = self._user_batches(unique)
        for b in range(0, len(unique), step):
            batch = unique[b:b + step]
            log_q = self.predict_log_proba(batch)
            if scores is not None:
                scores[b:b + len(batch)] = torch.logsumexp(log_q, dim=-1)
            expected = expected_rating(log_q, self.levels_).numpy()
            sel = (inverse >= b) & (inverse < b + len(batch))
            ratings[sel] = expected[inverse[sel] - b, items[sel]]
        return ratings, unique, scores

    def score_items(self, users: np.ndarray, *,
                    profiles: Interactions | None = None) -> torch.Tensor:
        """Ranking scores log q_u(i) of every item for each user. Shape (len(users), n_items).

        ``profiles``: input interactions of new users (fold-in), as in predict_log_proba.
        """
        users = np.asarray(users, np.int64)
        step = self._user_batches(users)
        return torch.cat([torch.logsumexp(
            self.predict_log_proba(users[b:b + step], profiles=profiles), dim=-1)
            for b in range(0, len(users), step)])

    def fold_in(self, items: np.ndarray, levels: np.ndarray) -> torch.Tensor:
        """log q(i, c) of a new user from their interactions, without retraining.

        Parameters
        ----------
        items : item indices; levels : level indices (into ``levels_``).

        Returns
        -------
        Tensor of shape (n_items, n_levels).
        """
        self._check_fitted()
        train = self.train_data_
        profile = Interactions(user=np.zeros(len(items), np.int64), item=items, level=levels,
                               levels=train.levels, user_ids=np.array(["new"]),
                               item_ids=train.item_ids, source="fold-in")
        return self.predict_log_proba(profiles=profile)[0]

    @torch.no_grad()
    def empirical_risk(self, targets: Interactions | None = None, *, eta: float = REPORT_ETA,
                       seed: int = 0) -> float:
        """Mean over rows of the per-row mean bounded loss l_eta (the quantity the bounds use).

        With ``targets`` (e.g. a test split over the same rows), the inputs are the training
        interactions and the loss is on ``targets``. Without, the training interactions are split
        at random (target share ``target_fraction``, fixed ``seed``) as in masked training.
        """
        return self._risk(targets, eta, seed)[0]

    def risk_report(self, test: Interactions | None = None, *, eta: float = REPORT_ETA,
                    seed: int = 0) -> dict[str, float | int]:
        """The ``risk`` metadata of a checkpoint (docs/checkpoint_format.md): ``eta``, the train
        risk, ``n_rows`` (the rows it averages over: the bounds' sample size n) and, with
        ``test``, the test risk."""
        train, n_rows = self._risk(None, eta, seed)
        report: dict[str, float | int] = {"eta": eta, "train": train, "n_rows": n_rows}
        if test is not None:
            report["test"] = self.empirical_risk(test, eta=eta)
        return report

    @torch.no_grad()
    def _risk(self, targets: Interactions | None, eta: float, seed: int) -> tuple[float, int]:
        """(empirical risk, number of rows with at least one target)."""
        self._check_fitted()
        self.model_.eval()
        if targets is None:
            rows_data = self._rows_data
            draw = np.random.default_rng(seed).random(len(rows_data.items))
            target_mask = draw < self.config.target_fraction
            input_mask = ~target_mask
        else:
            # Concatenate train (inputs) and target interactions in one row layout.
            train = self.train_data_
            both = Interactions(
                user=np.concatenate([train.user, targets.user]),
                item=np.concatenate([train.item, targets.item]),
                level=np.concatenate([train.level, targets.level]), levels=train.levels,
                user_ids=train.user_ids, item_ids=train.item_ids, source=targets.source)
            is_target = np.r_[np.zeros(train.n_observed, bool), np.ones(targets.n_observed, bool)]
            view = self._rows_view(both)
            order = RowData.order(view)
            rows_data = RowData.from_interactions(view)
            target_mask = is_target[order]
            input_mask = ~target_mask
        rows_with_target = np.unique(np.repeat(np.arange(len(rows_data.counts)),
                                               rows_data.counts)[target_mask])
        per_row = [self._batch_loss(rows_data, rows_with_target[b:b + 256], input_mask,
                                    target_mask, eta=eta, per_row=True)
                   for b in range(0, len(rows_with_target), 256)]
        risk = torch.cat(per_row).mean().item() if per_row else float("nan")
        return risk, len(rows_with_target)

    # ------------------------------------------------------------ persistence
    def to_checkpoint(self, **extra_metadata) -> Checkpoint:
        """The fitted model as a :class:`Checkpoint` (tensors plus JSON-able metadata)."""
        self._check_fitted()
        data = self.train_data_
        view_counts = self._rows_data.counts
        metadata = {
            "config": self.config.to_dict(),
            "levels": self.levels_.tolist(),
            "n_users": data.n_users,
            "n_items": data.n_items,
            "n_rows": len(view_counts),
            "n_cols": int(self.model_.n_items),
            "n_levels": len(self.levels_),
            "n_observed": int(data.n_observed),
            "max_input_interactions": int(self._rows_data.distinct_counts().max()),
            "data_fingerprint": data.fingerprint(),
            "data_source": data.source,
            "package_version": __version__,
            "architecture": self.model_.architecture(),
            "user_ids": [str(u) for u in data.user_ids.tolist()],
            "item_ids": [str(i) for i in data.item_ids.tolist()],
            "history": getattr(self, "history_", []),
            "best_epoch": getattr(self, "best_epoch_", None),
            "refine_steps": self.refine_steps_,
        }
        if self.history_:
            last = self.history_[self.best_epoch_ - 1]
            metadata["train_loss"] = last["train_loss"]
            metadata["validation_loss"] = last.get("val_loss")
        metadata.update(extra_metadata)
        inputs = {"user": torch.as_tensor(data.user, dtype=torch.int32),
                  "item": torch.as_tensor(data.item, dtype=torch.int32),
                  "level": torch.as_tensor(data.level, dtype=torch.int32)}
        return Checkpoint(metadata=metadata,
                          state_dict={k: v for k, v in self.model_.state_dict().items()},
                          initial_state_dict=self.initial_state_, inputs=inputs)

    def save(self, path: str | Path, **extra_metadata) -> None:
        """Write a checkpoint atomically; ``extra_metadata`` must be JSON-able."""
        save_checkpoint(path, self.to_checkpoint(**extra_metadata))

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> Conv4RecEstimator:
        """Rebuild a fitted estimator from a checkpoint file."""
        ckpt = load_checkpoint(path)
        meta = ckpt.metadata
        try:
            config = Conv4RecConfig.from_dict(meta["config"])
            levels = np.asarray(meta["levels"], dtype=np.float64)
            data = Interactions(
                user=ckpt.inputs["user"].numpy(), item=ckpt.inputs["item"].numpy(),
                level=ckpt.inputs["level"].numpy(), levels=levels,
                user_ids=np.asarray(meta["user_ids"]), item_ids=np.asarray(meta["item_ids"]),
                source=str(path))
            est = cls(config, device=device, progress=False)
            model = Conv4Rec(int(meta["n_cols"]), len(levels), config)
            mismatch = _state_mismatch(model.state_dict(), ckpt.state_dict)
            if not mismatch:
                model.load_state_dict(ckpt.state_dict)
        except (KeyError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0][:160]
            raise CheckpointError(f"{path}: checkpoint content does not match its metadata "
                                  f"({type(exc).__name__}: {first})") from None
        if mismatch:
            raise CheckpointError(f"{path}: {mismatch} (the weights do not match the "
                                  f"checkpoint's metadata: a foreign or edited file?)")
        est.model_ = model.to(device).eval()
        est.initial_state_ = ckpt.initial_state_dict
        est.levels_ = levels
        est.train_data_ = data
        est._rows_data = RowData.from_interactions(est._rows_view(data))
        est.history_ = meta.get("history", [])
        est.best_epoch_ = meta.get("best_epoch")
        est.refine_steps_ = int(meta.get("refine_steps", 0))
        est.metadata_ = meta
        return est
