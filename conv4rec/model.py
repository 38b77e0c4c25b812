"""The Conv4Rec network (SPEC §2): a pure ``nn.Module``, no data handling inside."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from conv4rec.config import Conv4RecConfig

_ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "elu": F.elu,
    "selu": F.selu,
    "identity": lambda x: x,
}


def activation(name: str):
    """The elementwise nonlinearity called ``name`` (one of ``config.ACTIVATIONS``)."""
    return _ACTIVATIONS[name]


class ItemMajorLinear(nn.Module):
    """A linear layer over the m * K_in encoder inputs, stored item-major for sparse input.

    The parameter ``table`` (m * K_in, d) is the transpose of ``nn.Linear``'s weight, so the
    rows of the items a batch observed are contiguous and ``F.embedding_bag`` gathers them
    without touching the others. ``weight`` is the usual (d, m * K_in) view of the same storage,
    and state dicts hold ``weight`` in ``nn.Linear``'s layout (what checkpoints and the bounds
    read); loading accepts that layout.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default initialisation
        self.table = nn.Parameter(torch.empty(in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.register_state_dict_post_hook(_table_to_weight)
        self.register_load_state_dict_pre_hook(_weight_to_table)

    @property
    def weight(self) -> torch.Tensor:
        """The (d, m * K_in) matrix W_enc, a transposed view of ``table``."""
        return self.table.t()


def _table_to_weight(module, state_dict, prefix, local_metadata) -> None:
    state_dict[prefix + "weight"] = state_dict.pop(prefix + "table").t().contiguous()
    state_dict.move_to_end(prefix + "bias")


def _weight_to_table(module, state_dict, prefix, local_metadata, strict, missing_keys,
                     unexpected_keys, error_msgs) -> None:
    if prefix + "weight" in state_dict:
        state_dict[prefix + "table"] = state_dict.pop(prefix + "weight").t()


class Conv4Rec(nn.Module):
    """1x1 convolutional autoencoder over the (level x item) interaction matrix of a user.

    Parameters are plain 2-D matrices so that the bounds can read them:

    * ``input_conv.weight`` (K_in, C), ``input_conv.bias`` (K_in,): the 1x1 convolution A_in,
      shared by every item;
    * ``encoder.0.weight`` (d_0, m * K_in), column ``i * K_in + k`` for item i, channel k;
      ``encoder.{l}.weight`` (d_l, d_{l-1}) for further FC layers;
    * ``decoder.weight`` (m * K_out, d), row ``i * K_out + k``;
    * ``output_conv.weight`` (C, K_out), ``output_conv.bias`` (C,): the 1x1 convolution A_out;
    * ``item_bias`` (m, C), optional.

    The input side is sparse: X_u is one-hot per observed item, so the input convolution is an
    embedding of the level gathered at the observed items only. Unobserved items contribute the
    constant act(b_in), which is added once per forward pass, never as a dense C x m block.
    """

    def __init__(self, n_items: int, n_levels: int, config: Conv4RecConfig) -> None:
        super().__init__()
        self.n_items = n_items
        self.n_levels = n_levels
        self.config = config
        k_in, k_out = config.in_channels, config.out_channels
        self.input_conv = nn.Linear(n_levels, k_in)
        widths = (n_items * k_in, *config.hidden)
        self.encoder = nn.ModuleList([ItemMajorLinear(n_items * k_in, widths[1]),
                                      *(nn.Linear(a, b) for a, b in zip(widths[1:-1],
                                                                        widths[2:]))])
        self.decoder = nn.Linear(config.code_size, n_items * k_out)
        self.output_conv = nn.Linear(k_out, n_levels)
        self.item_bias = nn.Parameter(torch.zeros(n_items, n_levels)) if config.item_bias else None
        if config.shared_weights:
            self.encoder_shared = nn.Parameter(torch.zeros(config.hidden[0], k_in))
            self.decoder_shared = nn.Parameter(torch.zeros(k_out, config.code_size))
        else:
            self.encoder_shared = self.decoder_shared = None
        self._act = activation(config.activation)
        self._dec_act = activation(config.decoder_activation)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default ``nn.Linear`` initialisation, drawn from an explicit generator."""
        for layer in (self.input_conv, *self.encoder, self.decoder, self.output_conv):
            fan_in = layer.weight.shape[1]
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                # kaiming_uniform_(a=sqrt(5)) as in nn.Linear is uniform(-1/sqrt(fan_in), ...),
                # drawn in nn.Linear's (out, in) order whatever the storage layout, on the CPU
                # and copied, so any device gets the same numbers (a CPU generator cannot fill
                # a GPU tensor)
                weight = torch.empty(layer.weight.shape).uniform_(-bound, bound,
                                                                  generator=generator)
                layer.weight.copy_(weight)
                layer.bias.copy_(torch.empty(layer.bias.shape).uniform_(-bound, bound,
                                                                        generator=generator))
        for extra in (self.item_bias, self.encoder_shared, self.decoder_shared):
            if extra is not None:
                with torch.no_grad():
                    extra.zero_()

    def column_parameters(self) -> list[torch.Tensor]:
        """The parameters with one slice per column (item): the first encoder matrix, the
        decoder's weight and bias, the item bias."""
        out = [self.encoder[0].table, self.decoder.weight, self.decoder.bias]
        return out + ([self.item_bias] if self.item_bias is not None else [])

    @torch.no_grad()
    def fold_shared_weights(self) -> None:
        """Move the item-shared components into the per-item matrices and zero them.

        The network computes the same function afterwards, and ``encoder.0.weight`` and
        ``decoder.weight`` then hold the effective matrices, which is what checkpoints store and
        what the bounds read.
        """
        if self.encoder_shared is None:
            return
        self.encoder[0].weight.copy_(self.encoder_weight().reshape_as(self.encoder[0].weight))
        self.decoder.weight.copy_(self.decoder_weight())
        self.encoder_shared.zero_()
        self.decoder_shared.zero_()

    def encoder_weight(self) -> torch.Tensor:
        """The effective first encoder matrix, shape (d_0, m, K_in) (with the shared part)."""
        w3 = self.encoder[0].weight.view(-1, self.n_items, self.config.in_channels)
        return w3 if self.encoder_shared is None else w3 + self.encoder_shared[:, None, :]

    def decoder_weight(self) -> torch.Tensor:
        """The effective decoder matrix, shape (m * K_out, d) (with the shared part)."""
        w = self.decoder.weight
        if self.decoder_shared is None:
            return w
        k_out = self.config.out_channels
        return (w.view(self.n_items, k_out, -1) + self.decoder_shared).view_as(w)

    def level_embeddings(self) -> torch.Tensor:
        """act(A_in e_c + b_in) - act(b_in) for every level c.

        Shape:
            (C, K_in): what an observed (item, level c) adds to the item's column of H
            relative to an unobserved item.
        """
        eye = torch.eye(self.n_levels, dtype=self.input_conv.weight.dtype,
                        device=self.input_conv.weight.device)
        on = self._act(self.input_conv(eye))
        off = self._act(self.input_conv.bias)
        return on - off

    def encode(self, rows: torch.Tensor, items: torch.Tensor, levels: torch.Tensor,
               n_rows: int, row_scale: torch.Tensor | None = None) -> torch.Tensor:
        """The code z of each row of a sparse batch.

        Args:
            rows, items, levels: the batch's interactions in COO form; ``rows`` indexes the
                batch (0..n_rows-1), ``levels`` indexes the levels.
            n_rows: the batch size B.
            row_scale: per-row factor on the encoder input (input scaling), or None.

        Shape:
            rows, items, levels: (nnz,); row_scale: (B,); output: (B, d).
        """
        first = self.encoder[0]
        k_in = self.config.in_channels
        table = first.table  # (m * K_in, d0), row i * K_in + k for item i, channel k
        emb = self.level_embeddings()  # (C, K_in)
        if rows.numel() > 1 and bool((rows[1:] < rows[:-1]).any()):
            order = torch.argsort(rows, stable=True)
            rows, items, levels = rows[order], items[order], levels[order]
        # Each interaction (item i, level c) adds sum_k W[:, i*K_in + k] * emb[c, k]: a weighted
        # bag of K_in rows of the table per interaction, one bag per batch row. Cost and memory
        # grow with the number of interactions only (the table's gradient is one dense write).
        channel = torch.arange(k_in, device=items.device)
        index = (items[:, None] * k_in + channel).reshape(-1)
        counts = torch.bincount(rows, minlength=n_rows)
        offsets = (torch.cumsum(counts, 0) - counts) * k_in
        pre = F.embedding_bag(index, table, offsets, mode="sum",
                              per_sample_weights=emb.index_select(0, levels).reshape(-1))
        # Every item column also holds act(b_in); its image is one vector for all rows.
        off = self._act(self.input_conv.bias)
        pre = pre + table.view(self.n_items, k_in, -1).sum(dim=0).T @ off
        if self.encoder_shared is not None:
            # the item-shared part of the weights, applied without an (d0, m, K_in) copy:
            # the level embeddings summed over each row's interactions, plus m * act(b_in)
            # (level counts per row) @ (C, d0): no per-interaction d0-vectors
            level_counts = torch.zeros(n_rows, self.n_levels, dtype=pre.dtype, device=pre.device)
            level_counts.index_put_((rows, levels), torch.ones_like(rows, dtype=pre.dtype),
                                    accumulate=True)
            pre = pre + level_counts @ (emb @ self.encoder_shared.T)
            pre = pre + self.n_items * (self.encoder_shared @ off)
        if row_scale is not None:
            pre = pre * row_scale[:, None]
        h = self._act(pre + first.bias)
        for layer in self.encoder[1:]:
            h = self._act(layer(h))
        return h

    def decode(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits L of every (item, level) cell from the code.

        Args:
            z: the codes.
            generator: random stream of the dropout on z (used in training mode only).

        Shape:
            z: (B, d); output: (B, m, C).
        """
        p = self.config.dropout
        if self.training and p > 0:
            keep = torch.rand(z.shape, generator=generator, device=z.device) >= p
            z = z * keep / (1.0 - p)
        # W_dec z as (W_dec @ z^T)^T: the same product as nn.Linear, in the operand order that
        # BLAS runs faster for a tall decoder matrix and a small batch on CPU
        g = torch.addmm(self.decoder.bias[:, None], self.decoder.weight, z.T).T.contiguous()
        if self.decoder_shared is not None:
            shared = (z @ self.decoder_shared.T)[:, None, :]  # the same for every item
            g = (g.view(z.shape[0], self.n_items, -1) + shared).view_as(g)
        g = self._dec_act(g)
        g = g.view(z.shape[0], self.n_items, self.config.out_channels)
        logits = self.output_conv(g)
        if self.item_bias is not None:
            logits = logits + self.item_bias
        return logits

    def forward(self, rows: torch.Tensor, items: torch.Tensor, levels: torch.Tensor,
                n_rows: int, row_scale: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of the joint (item, level) distribution of each row of a sparse batch.

        Shape:
            rows, items, levels: (nnz,); row_scale: (B,); output: (B, m, C) with B = n_rows.
        """
        return self.decode(self.encode(rows, items, levels, n_rows, row_scale), generator)

    def architecture(self) -> list[dict]:
        """The layer list written into checkpoints, read by ``bounds`` without this class.

        Each entry names the state-dict keys of a layer, its kind ("conv1x1" is a matrix shared
        by every item, "fc" a dense matrix), how many positions share it, and the activation
        applied after it.
        """
        layers = [dict(name="input_conv", kind="conv1x1", weight="input_conv.weight",
                       bias="input_conv.bias", positions=self.n_items,
                       activation=self.config.activation)]
        for k in range(len(self.encoder)):
            layers.append(dict(name=f"encoder.{k}", kind="fc", weight=f"encoder.{k}.weight",
                               bias=f"encoder.{k}.bias", positions=1,
                               activation=self.config.activation))
        layers.append(dict(name="decoder", kind="fc", weight="decoder.weight",
                           bias="decoder.bias", positions=1,
                           activation=self.config.decoder_activation))
        layers.append(dict(name="output_conv", kind="conv1x1", weight="output_conv.weight",
                           bias="output_conv.bias", positions=self.n_items,
                           activation="identity"))
        return layers


def joint_log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log q_u(i, c): the log-softmax over all C * m cells of each row.

    Shape:
        logits: (B, m, C); output: (B, m, C), ``exp`` of which sums to 1 per row.
    """
    b = logits.shape[0]
    return torch.log_softmax(logits.reshape(b, -1), dim=-1).view_as(logits)
